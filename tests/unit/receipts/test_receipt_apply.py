"""Applying receipts in bulk: the status table decides, duplicates and late receipts are harmless, Firetext
failures are refined, unknown references are dropped (SES ones retried while young), complaints recorded."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlencode

import orjson
import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.db.engine import make_engine
from clarion.db.models import Complaint, Notification
from clarion.receipts import apply
from clarion.receipts.parse import Receipt, parse_firetext, parse_mmg, parse_ses
from tests.unit.delivery.factory import AddNotification, load
from tests.unit.receipts.conftest import ses_message

WINDOW = timedelta(seconds=300)


def mmg(notification_id: uuid.UUID, status: str, substatus: str | None = None) -> Receipt:
    body = {"status": status, "CID": str(notification_id), "MSISDN": "447700900123"}
    return parse_mmg(orjson.dumps({**body, "substatus": substatus} if substatus else body))


def firetext(notification_id: uuid.UUID, status: str, code: str | None = None) -> Receipt:
    form = {"status": status, "reference": str(notification_id), "mobile": "447700900123"}
    return parse_firetext(urlencode({**form, "code": code} if code else form).encode())


def ses(reference: str, kind: str, clock: ManualClock, **sections: object) -> Receipt:
    mail_time = clock.now().isoformat()
    return parse_ses(orjson.dumps(ses_message(kind, reference, mail_time=mail_time, **sections)).decode())


def run(sessions: sessionmaker[Session], clock: ManualClock, *receipts: Receipt) -> apply.BatchResult:
    with sessions.begin() as session:
        return apply.apply_receipts(session, receipts, now=clock.now(), ses_retry_window=WINDOW)


@contextmanager
def counted_statements(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.split()[0].upper())
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize(("receipt", "status", "reason"), [
    (lambda i: mmg(i, "3", "5"), "delivered", None),
    (lambda i: mmg(i, "2", "1"), "permanent-failure", "Number does not exist"),
    (lambda i: mmg(i, "4", "6"), "temporary-failure", "Absent Subscriber"),
    (lambda i: mmg(i, "5", "25"), "permanent-failure", "Message too long"),
    (lambda i: firetext(i, "0", "000"), "delivered", None),
    (lambda i: firetext(i, "1", "101"), "permanent-failure", "Unknown Subscriber"),
    (lambda i: firetext(i, "2"), "pending", None),
])
def test_an_sms_receipt_moves_a_sending_text_to_its_mapped_status(
        sessions: sessionmaker[Session], clock: ManualClock, add_notification: AddNotification,
        receipt: object, status: str, reason: str | None) -> None:
    notification_id = add_notification(status="sending")
    clock.advance(seconds=5)
    result = run(sessions, clock, receipt(notification_id))  # type: ignore[operator]
    row = load(sessions, notification_id)
    assert (row.status, row.failure_reason, row.updated_at) == (status, reason, clock.now())
    assert result.moved == 1


def test_the_provider_becomes_sent_by_only_when_nothing_was_recorded(
        sessions: sessionmaker[Session], clock: ManualClock, add_notification: AddNotification) -> None:
    unrecorded, recorded = add_notification(status="sending"), add_notification(status="sending", sent_by="mmg")
    run(sessions, clock, firetext(unrecorded, "0"), firetext(recorded, "0"))
    assert (load(sessions, unrecorded).sent_by, load(sessions, recorded).sent_by) == ("firetext", "mmg")


@pytest.mark.parametrize(("kind", "sections", "status", "reason"), [
    ("Delivery", {}, "delivered", None),
    ("Bounce", {"bounce": {"bounceType": "Permanent", "bounceSubType": "General"}}, "permanent-failure",
     "Hard bounced"),
    ("Bounce", {"bounce": {"bounceType": "Transient", "bounceSubType": "MailboxFull"}}, "temporary-failure",
     "Soft bounced"),
])
def test_an_ses_receipt_finds_its_email_by_reference(
        sessions: sessionmaker[Session], clock: ManualClock, add_notification: AddNotification,
        kind: str, sections: dict, status: str, reason: str | None) -> None:
    email = add_notification(notification_type="email", status="sending", reference="ses-message-1", sent_by="ses")
    other = add_notification(notification_type="email", status="sending", reference="ses-message-2")
    run(sessions, clock, ses("ses-message-1", kind, clock, **sections))
    assert (load(sessions, email).status, load(sessions, email).failure_reason) == (status, reason)
    assert load(sessions, other).status == "sending"


def test_a_duplicate_receipt_is_harmless_in_one_batch_and_across_batches(
        sessions: sessionmaker[Session], clock: ManualClock, add_notification: AddNotification) -> None:
    notification_id = add_notification(status="sending")
    first = run(sessions, clock, mmg(notification_id, "3", "2"), mmg(notification_id, "3", "2"))
    delivered_at = clock.now()
    clock.advance(minutes=1)
    again = run(sessions, clock, mmg(notification_id, "3", "2"))
    assert (first.moved, first.refused, again.moved, again.refused) == (1, 1, 0, 1)
    row = load(sessions, notification_id)
    assert (row.status, row.updated_at) == ("delivered", delivered_at)


def test_a_late_failure_never_moves_a_delivered_text(sessions: sessionmaker[Session], clock: ManualClock,
                                                     add_notification: AddNotification) -> None:
    across, within = add_notification(status="sending"), add_notification(status="sending")
    run(sessions, clock, mmg(across, "3", "5"))
    run(sessions, clock, mmg(across, "4", "6"), mmg(within, "3", "5"), mmg(within, "4", "6"))
    assert (load(sessions, across).status, load(sessions, within).status) == ("delivered", "delivered")
    assert load(sessions, across).failure_reason is None


def test_pending_then_delivered_in_one_batch_ends_delivered(sessions: sessionmaker[Session], clock: ManualClock,
                                                            add_notification: AddNotification) -> None:
    notification_id = add_notification(status="sending")
    result = run(sessions, clock, firetext(notification_id, "2"), firetext(notification_id, "0"))
    assert (load(sessions, notification_id).status, result.moved, result.refused) == ("delivered", 1, 0)


@pytest.mark.parametrize("final", ["technical-failure", "cancelled", "permanent-failure", "validation-failed"])
def test_a_receipt_never_moves_a_final_status(sessions: sessionmaker[Session], clock: ManualClock,
                                              add_notification: AddNotification, final: str) -> None:
    notification_id = add_notification(status=final)
    assert run(sessions, clock, mmg(notification_id, "3", "5")).refused == 1
    assert load(sessions, notification_id).status == final


def test_a_receipt_still_moves_an_international_text_marked_sent(
        sessions: sessionmaker[Session], clock: ManualClock, add_notification: AddNotification) -> None:
    notification_id = add_notification(status="sent")
    run(sessions, clock, mmg(notification_id, "3", "5"))
    assert load(sessions, notification_id).status == "delivered"


@pytest.mark.parametrize(("before", "code", "status", "reason"), [
    ("sending", "101", "permanent-failure", "Unknown Subscriber"),
    ("sending", "102", "temporary-failure", "Absent Subscriber"),
    ("pending", "101", "permanent-failure", "Unknown Subscriber"),  # the code decides, even after pending
    ("pending", "000", "temporary-failure", "No error reported"),
    ("pending", None, "temporary-failure", None),  # no code: pending first means the number exists
    ("pending", "555", "temporary-failure", None),  # an unknown code is no help either
    ("sending", None, "permanent-failure", None),
    ("sending", "555", "permanent-failure", None),
])
def test_a_firetext_failure_is_refined_by_its_code_and_the_status_before_it(
        sessions: sessionmaker[Session], clock: ManualClock, add_notification: AddNotification,
        before: str, code: str | None, status: str, reason: str | None) -> None:
    notification_id = add_notification(status=before)
    run(sessions, clock, firetext(notification_id, "1", code))
    row = load(sessions, notification_id)
    assert (row.status, row.failure_reason) == (status, reason)


def test_firetext_pending_then_failure_in_one_batch_is_a_temporary_failure(
        sessions: sessionmaker[Session], clock: ManualClock, add_notification: AddNotification) -> None:
    notification_id = add_notification(status="sending")
    run(sessions, clock, firetext(notification_id, "2"), firetext(notification_id, "1"))
    assert load(sessions, notification_id).status == "temporary-failure"


def test_an_mmg_failure_is_not_refined_like_firetexts(sessions: sessionmaker[Session], clock: ManualClock,
                                                      add_notification: AddNotification) -> None:
    notification_id = add_notification(status="pending")
    run(sessions, clock, mmg(notification_id, "2", "1"))
    assert load(sessions, notification_id).status == "permanent-failure"


def test_a_receipt_for_an_unknown_notification_is_logged_without_the_number_and_dropped(
        sessions: sessionmaker[Session], clock: ManualClock, add_notification: AddNotification,
        caplog: pytest.LogCaptureFixture) -> None:
    known, unknown = add_notification(status="sending"), uuid.uuid4()
    with caplog.at_level(logging.INFO, logger="clarion.receipts.apply"):
        result = run(sessions, clock, mmg(unknown, "3", "5"), mmg(known, "3", "5"))
    assert (result.unknown, result.moved, result.retry_later) == (1, 1, [])
    assert load(sessions, known).status == "delivered"
    [dropped] = [r for r in caplog.records if r.message == "receipt for an unknown notification dropped"]
    assert dropped.reference == str(unknown)
    assert all("447700900123" not in str(vars(record)) for record in caplog.records)


def test_a_text_receipt_never_touches_an_email_with_the_same_id(
        sessions: sessionmaker[Session], clock: ManualClock, add_notification: AddNotification) -> None:
    email = add_notification(notification_type="email", status="sending")
    assert run(sessions, clock, mmg(email, "3", "5")).unknown == 1
    assert load(sessions, email).status == "sending"


def test_an_unknown_ses_reference_is_handed_back_while_the_email_is_young(
        sessions: sessionmaker[Session], clock: ManualClock) -> None:
    receipt = ses("not-committed-yet", "Delivery", clock)
    clock.advance(seconds=299)
    assert run(sessions, clock, receipt).retry_later == [receipt]
    clock.advance(seconds=2)
    result = run(sessions, clock, receipt)
    assert (result.retry_later, result.unknown) == ([], 1)


def test_a_retried_ses_receipt_applies_once_the_reference_is_committed(
        sessions: sessionmaker[Session], clock: ManualClock, add_notification: AddNotification) -> None:
    receipt = ses("committed-late", "Delivery", clock)
    assert run(sessions, clock, receipt).retry_later == [receipt]
    email = add_notification(notification_type="email", status="sending", reference="committed-late")
    clock.advance(seconds=30)
    assert run(sessions, clock, receipt).moved == 1
    assert load(sessions, email).status == "delivered"


COMPLAINT = {"complaint": {"feedbackId": "feedback-1", "complaintFeedbackType": "abuse",
                           "timestamp": "2026-01-05T10:00:00.000Z",
                           "complainedRecipients": [{"emailAddress": "someone@example.com"}]}}


def test_a_complaint_is_recorded_once_and_leaves_the_status_alone(
        sessions: sessionmaker[Session], clock: ManualClock, add_notification: AddNotification,
        seeded: object) -> None:
    email = add_notification(notification_type="email", status="delivered", reference="ses-complained")
    first = run(sessions, clock, ses("ses-complained", "Complaint", clock, **COMPLAINT))
    again = run(sessions, clock, ses("ses-complained", "Complaint", clock, **COMPLAINT))
    assert (first.complaints, again.complaints, first.moved) == (1, 0, 0)
    assert load(sessions, email).status == "delivered"
    with sessions() as session:
        [complaint] = session.scalars(select(Complaint)).all()
    assert (complaint.notification_id, complaint.service_id, complaint.ses_feedback_id, complaint.complaint_type,
            complaint.complaint_date.isoformat()) == (email, seeded.service.id, "feedback-1", "abuse",  # type: ignore[attr-defined]
                                                      "2026-01-05T10:00:00+00:00")


def test_a_complaint_on_a_sending_email_does_not_deliver_it(
        sessions: sessionmaker[Session], clock: ManualClock, add_notification: AddNotification) -> None:
    email = add_notification(notification_type="email", status="sending", reference="ses-early-complaint")
    run(sessions, clock, ses("ses-early-complaint", "Complaint", clock, complaint={"feedbackId": "f-2"}))
    assert load(sessions, email).status == "sending"


def test_a_batch_of_two_hundred_receipts_costs_a_handful_of_statements(
        engine: Engine, sessions: sessionmaker[Session], clock: ManualClock,
        add_notification: AddNotification) -> None:
    texts = [add_notification(status="sending") for _ in range(150)]
    emails = [add_notification(notification_type="email", status="sending", reference=f"ses-{i}")
              for i in range(50)]
    receipts: Sequence[Receipt] = [
        *(mmg(i, "3", "5") for i in texts[:100]), *(mmg(i, "2", "1") for i in texts[100:]),
        *(ses(f"ses-{i}", "Delivery", clock) for i in range(len(emails)))]
    with counted_statements(engine) as statements:
        result = run(sessions, clock, *receipts)
    assert result.moved == 200
    assert statements.count("UPDATE") == 3  # one per (status before, new status, reason, provider)
    assert statements.count("SELECT") == 2  # texts by id, emails by reference


@pytest.mark.parametrize(("meanwhile", "receipt_status", "final", "moved"), [
    ("delivered", "4", "delivered", 0),  # someone else finished it: the late failure is refused
    ("pending", "3", "delivered", 1),  # someone else moved it on: the receipt is decided again, and applies
])
def test_a_row_moved_by_another_writer_between_read_and_write_is_decided_again(
        engine: Engine, database_url: str, sessions: sessionmaker[Session], clock: ManualClock,
        add_notification: AddNotification, meanwhile: str, receipt_status: str, final: str, moved: int) -> None:
    notification_id = add_notification(status="sending")
    other_writer = make_engine(database_url)
    table = Notification.__table__
    interfered: list[bool] = []

    def interfere(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE") and not interfered:
            interfered.append(True)
            with other_writer.begin() as connection:
                connection.execute(table.update().where(table.c.id == notification_id).values(status=meanwhile))
    event.listen(engine, "before_cursor_execute", interfere)
    try:
        result = run(sessions, clock, mmg(notification_id, receipt_status, "5"))
    finally:
        event.remove(engine, "before_cursor_execute", interfere)
        other_writer.dispose()
    assert interfered and load(sessions, notification_id).status == final
    assert (result.moved, result.refused) == (moved, 1 - moved)
