"""The delivery flow: test keys get their simulated outcome, others go to a provider and on to `sending`."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, event, update
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.db.models import ProviderDetails, Service
from clarion.delivery import apply, send
from clarion.delivery.send import DeliveryOutcome
from clarion.providers.errors import PermanentProviderError, ProviderUnavailable, UnknownProvider
from clarion.providers.registry import NotificationProviderClients
from clarion.providers.base import SmsMessage
from clarion.routing.select import NoActiveProvider
from tests.unit.delivery.factory import AddNotification, load
from tests.unit.delivery.fakes import FakeEmail, FakeSms

OPTIONS = send.DeliveryOptions(email_domain="mail.example", sms_sender="CLARION")


def deliver(notification_id, sessions, clock, *clients) -> DeliveryOutcome:  # type: ignore[no-untyped-def]
    registry = NotificationProviderClients(clients)
    return send.deliver(notification_id, sessions=sessions, clients=registry, clock=clock, options=OPTIONS)


@pytest.mark.parametrize(("to", "outcome"), [
    ("447700900003", "temporary-failure"),
    ("447700900002", "permanent-failure"),
    ("447700900123", "delivered"),
])
def test_a_test_key_text_gets_its_simulated_outcome_without_a_provider(
        to: str, outcome: str, add_notification: AddNotification, sessions: sessionmaker[Session],
        clock: ManualClock) -> None:
    notification_id = add_notification(to=to)
    provider = FakeSms(clock=clock)
    assert deliver(notification_id, sessions, clock, provider) is DeliveryOutcome.SIMULATED
    row = load(sessions, notification_id)
    assert (row.status, row.sent_at, row.sent_by) == (outcome, clock.now(), None)
    assert provider.sent == []


@pytest.mark.parametrize(("to", "outcome"), [
    ("temp-fail@simulator.notify", "temporary-failure"),
    ("perm-fail@simulator.notify", "permanent-failure"),
    ("someone@example.com", "delivered"),
])
def test_a_test_key_email_gets_its_simulated_outcome_and_a_reference(
        to: str, outcome: str, add_notification: AddNotification, sessions: sessionmaker[Session],
        clock: ManualClock) -> None:
    notification_id = add_notification(notification_type="email", to=to)
    assert deliver(notification_id, sessions, clock) is DeliveryOutcome.SIMULATED
    row = load(sessions, notification_id)
    assert row.status == outcome
    assert row.reference


def test_a_text_goes_to_the_provider_with_weight_and_becomes_sending(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    notification_id = add_notification(key_type="normal", reply_to_text="GOVUK", billable_units=2)
    with sessions.begin() as session:  # all of the traffic to mmg, none to firetext
        session.execute(update(ProviderDetails).where(ProviderDetails.identifier == "mmg").values(priority=100))
        session.execute(update(ProviderDetails).where(ProviderDetails.identifier == "firetext").values(priority=0))
    mmg, firetext = FakeSms(name="mmg", clock=clock), FakeSms(name="firetext", clock=clock)
    clock.advance(seconds=3)
    assert deliver(notification_id, sessions, clock, mmg, firetext) is DeliveryOutcome.HANDED_OFF
    assert mmg.sent == [SmsMessage(to="447700900123", content="Hello Ada, your code is 1234",
                                   reference=str(notification_id), international=False, sender="GOVUK")]
    assert firetext.sent == []
    row = load(sessions, notification_id)
    assert (row.status, row.sent_by, row.sent_at, row.billable_units) == ("sending", "mmg", clock.now(), 2)


def test_an_international_text_becomes_sent(add_notification: AddNotification, sessions: sessionmaker[Session],
                                            clock: ManualClock) -> None:
    notification_id = add_notification(key_type="normal", to="12025550123", international=True)
    assert deliver(notification_id, sessions, clock, FakeSms(clock=clock)) is DeliveryOutcome.HANDED_OFF
    row = load(sessions, notification_id)
    assert (row.status, row.sent_by) == ("sent", "mmg")


def test_an_email_is_sent_with_its_sender_headers_and_provider_reference(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    notification_id = add_notification(notification_type="email", key_type="normal", body="Dear Ada,\n\n<Thanks>",
                                       reply_to_text="help@example.com",
                                       one_click_unsubscribe_url="https://example.com/unsub")
    ses = FakeEmail(clock=clock)
    assert deliver(notification_id, sessions, clock, ses) is DeliveryOutcome.HANDED_OFF
    [message] = ses.sent
    assert message.from_address == '"Test service" <test.service@mail.example>'
    assert (message.to_address, message.subject, message.reply_to_address) == (
        "someone@example.com", "Hello Ada", "help@example.com")
    assert message.html_body == "<p>Dear Ada,</p>\n<p>&lt;Thanks&gt;</p>"
    assert message.body == "Dear Ada,\n\n<Thanks>"
    assert message.headers == [{"Name": "List-Unsubscribe", "Value": "<https://example.com/unsub>"},
                               {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"}]
    row = load(sessions, notification_id)
    assert (row.status, row.sent_by, row.reference) == ("sending", "ses", "ses-1")


def test_a_second_delivery_of_the_same_notification_does_nothing(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    notification_id = add_notification(key_type="normal")
    mmg = FakeSms(clock=clock)
    deliver(notification_id, sessions, clock, mmg)
    sent_at = clock.now()
    clock.advance(minutes=1)
    assert deliver(notification_id, sessions, clock, mmg) is DeliveryOutcome.SKIPPED
    assert len(mmg.sent) == 1
    assert load(sessions, notification_id).sent_at == sent_at


def test_a_receipt_that_arrives_during_the_provider_call_is_kept(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    notification_id = add_notification(key_type="normal")

    def fast_receipt(_: SmsMessage) -> None:
        with sessions.begin() as session:
            apply.apply_status(session, notification_id, "delivered", now=clock.now())

    deliver(notification_id, sessions, clock, FakeSms(clock=clock, during=fast_receipt))
    row = load(sessions, notification_id)
    assert (row.status, row.sent_by) == ("delivered", "mmg")


def test_no_database_connection_is_held_while_the_provider_works(
        add_notification: AddNotification, sessions: sessionmaker[Session], engine: Engine,
        clock: ManualClock) -> None:
    notification_id = add_notification(key_type="normal")
    held = {"now": 0}
    event.listen(engine, "checkout", lambda *_: held.update(now=held["now"] + 1))
    event.listen(engine, "checkin", lambda *_: held.update(now=held["now"] - 1))
    during: list[int] = []
    deliver(notification_id, sessions, clock, FakeSms(clock=clock, during=lambda _: during.append(held["now"])))
    assert during == [0]


def test_a_permanent_provider_error_ends_in_technical_failure(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    notification_id = add_notification(key_type="normal")
    mmg = FakeSms(clock=clock, error=PermanentProviderError("mmg", "HTTP 400 invalid number"))
    assert deliver(notification_id, sessions, clock, mmg) is DeliveryOutcome.TECHNICAL_FAILURE
    row = load(sessions, notification_id)
    assert (row.status, row.failure_reason) == ("technical-failure", "mmg: HTTP 400 invalid number")


@pytest.mark.parametrize("clients", [
    pytest.param([], id="no client configured"),
    pytest.param(["unavailable"], id="provider unavailable"),
])
def test_a_retryable_failure_propagates_and_leaves_the_notification_created(
        clients: list[str], add_notification: AddNotification, sessions: sessionmaker[Session],
        clock: ManualClock) -> None:
    notification_id = add_notification(key_type="normal")
    registered = [FakeSms(clock=clock, error=ProviderUnavailable("mmg", "HTTP 503")) for _ in clients]
    expected = ProviderUnavailable if clients else NoActiveProvider  # routing picks only configured providers
    with pytest.raises(expected):
        deliver(notification_id, sessions, clock, *registered)
    assert load(sessions, notification_id).status == "created"


def test_no_active_provider_propagates(add_notification: AddNotification, sessions: sessionmaker[Session],
                                       clock: ManualClock) -> None:
    notification_id = add_notification(key_type="normal")
    with sessions.begin() as session:
        session.execute(update(ProviderDetails).values(active=False))
    with pytest.raises(NoActiveProvider):
        deliver(notification_id, sessions, clock, FakeSms(clock=clock))
    assert load(sessions, notification_id).status == "created"


def test_a_notification_of_an_inactive_service_ends_in_technical_failure(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    notification_id = add_notification(key_type="normal")
    with sessions.begin() as session:
        session.execute(update(Service).values(active=False))
    mmg = FakeSms(clock=clock)
    assert deliver(notification_id, sessions, clock, mmg) is DeliveryOutcome.TECHNICAL_FAILURE
    assert load(sessions, notification_id).status == "technical-failure"
    assert mmg.sent == []


def test_mark_technical_failure_never_moves_a_final_status(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    notification_id = add_notification(status="delivered")
    assert send.mark_technical_failure(notification_id, sessions=sessions, clock=clock) is False
    assert load(sessions, notification_id).status == "delivered"


def test_a_second_copy_of_a_delivery_sends_nothing_while_the_first_holds_its_claim(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    notification_id = add_notification(key_type="normal")
    provider = FakeSms(clock=clock)
    with sessions.begin() as session:  # the first worker has claimed it and is talking to the provider
        assert send.claim(session, notification_id, now=clock.now(), lasts=OPTIONS.claim_lasts)
    assert deliver(notification_id, sessions, clock, provider) is DeliveryOutcome.SKIPPED
    assert provider.sent == []
    clock.advance(seconds=OPTIONS.claim_lasts.total_seconds() + 1)  # that worker died: its claim lapses
    assert deliver(notification_id, sessions, clock, provider) is DeliveryOutcome.HANDED_OFF
    assert len(provider.sent) == 1


def test_a_failed_attempt_lets_go_of_its_claim_so_the_retry_can_send(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    notification_id = add_notification(key_type="normal")
    with pytest.raises(NoActiveProvider):
        deliver(notification_id, sessions, clock)  # no client configured for any active provider
    send.note_failed_attempt(notification_id, sessions=sessions, clock=clock)
    provider = FakeSms(clock=clock)
    assert deliver(notification_id, sessions, clock, provider) is DeliveryOutcome.HANDED_OFF


def test_a_hand_off_the_database_did_not_record_is_not_sent_again_while_claimed(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock,
        engine: Engine) -> None:
    notification_id = add_notification(key_type="normal")
    provider = FakeSms(clock=clock)

    def refuse_the_hand_off(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("UPDATE notifications SET status") and "sent_at" in statement:
            raise RuntimeError("database went away")

    event.listen(engine, "before_cursor_execute", refuse_the_hand_off)
    try:
        with pytest.raises(send.HandOffNotRecorded) as raised:
            deliver(notification_id, sessions, clock, provider)
    finally:
        event.remove(engine, "before_cursor_execute", refuse_the_hand_off)
    assert deliver(notification_id, sessions, clock, provider) is DeliveryOutcome.SKIPPED
    assert len(provider.sent) == 1
    hand_off = raised.value.hand_off  # what the worker records later through the queue (tests/unit/worker)
    assert (hand_off.notification_id, hand_off.status, hand_off.provider) == (notification_id, "sending", "mmg")
    assert send.HandOff.from_message(hand_off.to_message()) == hand_off


def test_an_emails_markdown_becomes_html_and_plain_text_at_delivery(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    notification_id = add_notification(notification_type="email", key_type="normal",
                                       body="Your visit:\n\n* Monday\n* Tuesday")
    ses = FakeEmail(clock=clock)
    deliver(notification_id, sessions, clock, ses)
    [message] = ses.sent
    assert "<li>Monday</li>" in message.html_body and "*" not in message.html_body
    assert "Monday" in message.body and "Tuesday" in message.body


def test_an_email_to_a_provider_without_receipts_is_sent_at_once(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    notification_id = add_notification(notification_type="email", key_type="normal")
    relay = FakeEmail(clock=clock)
    relay.has_delivery_receipts = False  # an SMTP relay's acceptance is all that will ever be known
    assert deliver(notification_id, sessions, clock, relay) is DeliveryOutcome.HANDED_OFF
    assert load(sessions, notification_id).status == "sent"


def test_a_batch_is_handed_off_with_every_row_recorded(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    ids = [add_notification(key_type="normal") for _ in range(5)]
    mmg = FakeSms(clock=clock)
    results = send.deliver_batch(ids, sessions=sessions, clients=NotificationProviderClients([mmg]), clock=clock,
                                 options=OPTIONS)
    assert [(r.outcome, r.error) for r in results] == [(DeliveryOutcome.HANDED_OFF, None)] * 5
    rows = [load(sessions, i) for i in ids]
    assert {(r.status, r.sent_by, r.sent_at, r.delivery_claimed_at) for r in rows} == {
        ("sending", "mmg", clock.now(), None)}
    assert sorted(m.reference for m in mmg.sent) == sorted(str(i) for i in ids)


def test_a_database_failure_for_one_notification_leaves_the_rest_of_the_batch_recorded(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock,
        engine: Engine) -> None:
    refused, accepted = add_notification(key_type="normal"), add_notification(key_type="normal")

    def refuse_one(message: SmsMessage) -> None:
        if message.reference == str(refused):
            raise PermanentProviderError("mmg", "HTTP 400 invalid number")

    def fail_the_failure_write(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "failure_reason" in statement:
            raise RuntimeError("database went away")

    mmg = FakeSms(clock=clock, during=refuse_one)
    event.listen(engine, "before_cursor_execute", fail_the_failure_write)
    try:
        results = send.deliver_batch([refused, accepted], sessions=sessions, clients=NotificationProviderClients([mmg]),
                                     clock=clock, options=OPTIONS)
    finally:
        event.remove(engine, "before_cursor_execute", fail_the_failure_write)
    assert results[0].error is not None and results[0].outcome is None  # retried: nothing was recorded
    assert results[1].outcome is DeliveryOutcome.HANDED_OFF
    assert (load(sessions, accepted).status, load(sessions, refused).status) == ("sending", "created")
