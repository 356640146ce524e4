"""How the delivery worker uses routing: failover retries avoid the provider that failed, provider faults
move weight one step, and the routing beat tasks (slow delivery, tend-back) move it from the worker.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import Celery
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.db.models import ProviderDetails, ProviderDetailsHistory
from clarion.providers.base import Client
from clarion.providers.errors import PermanentProviderError, ProviderThrottled, ProviderUnavailable
from clarion.providers.registry import NotificationProviderClients
from clarion.worker.context import WorkerContext, install_context, worker_context
from clarion.worker.queues import RETRY_QUEUE, SLOW_DELIVERY_TASK, TEND_BACK_TASK
from tests.unit.delivery.factory import AddNotification, load
from tests.unit.delivery.fakes import FakeEmail, FakeSms
from tests.unit.worker.conftest import take_messages

ROUTING_ACTOR = "clarion-routing"  # the actor of every automatic weight change (Notify's NOTIFY_USER_ID)
CACHE_TTL = timedelta(seconds=3)  # longer than the worker's provider cache lives (ROUTING_CACHE_TTL_S=2)


class FakeSmtp(FakeEmail):
    """An SMTP relay: accepts the email, and no receipt follows."""

    name = "smtp"
    has_delivery_receipts = False


def use_clients(app: Celery, *clients: Client) -> WorkerContext:
    """Give the worker these provider clients (its router and balancer are rebuilt for them)."""
    context = replace(worker_context(app), clients=NotificationProviderClients(clients))
    install_context(app, context)
    return context


def unavailable(provider: str) -> ProviderUnavailable:
    return ProviderUnavailable(provider, "HTTP 503")


def set_weights(sessions: sessionmaker[Session], **priorities: int) -> None:
    """Set providers' weights (priorities for email) in the database, as an operator would."""
    with sessions.begin() as session:
        for identifier, priority in priorities.items():
            session.execute(update(ProviderDetails).where(ProviderDetails.identifier == identifier)
                            .values(priority=priority))


def weights(sessions: sessionmaker[Session], notification_type: str = "sms") -> dict[str, int]:
    with sessions() as session:
        rows = session.execute(select(ProviderDetails.identifier, ProviderDetails.priority)
                               .where(ProviderDetails.notification_type == notification_type))
        return {identifier: priority for identifier, priority in rows}


def automatic_history(sessions: sessionmaker[Session]) -> list[tuple[str, int | None, int, str]]:
    """The history rows routing wrote: (provider, old weight, new weight, reason)."""
    with sessions() as session:
        rows = session.scalars(select(ProviderDetailsHistory).where(ProviderDetailsHistory.created_by == ROUTING_ACTOR)
                               .order_by(ProviderDetailsHistory.identifier))
        return [(row.identifier, row.previous_priority, row.priority, row.reason) for row in rows]


def the_retry(app: Celery) -> tuple[dict[str, Any], list[Any]]:
    """The one message on the retry queue, as (headers, args)."""
    [message] = take_messages(app, RETRY_QUEUE)
    return message


# Failover for the message itself: the first retry goes at once, elsewhere.

def test_a_fault_on_the_first_attempt_is_retried_at_once_through_the_other_provider(
        celery_app: Celery, clock: ManualClock, add_notification: AddNotification,
        sessions: sessionmaker[Session]) -> None:
    mmg, firetext = FakeSms(clock=clock, error=unavailable("mmg")), FakeSms(clock=clock, name="firetext")
    use_clients(celery_app, mmg, firetext)
    set_weights(sessions, mmg=100, firetext=0)
    text = add_notification(key_type="normal")

    celery_app.tasks["deliver_sms"]([str(text)], 0)
    headers, args = the_retry(celery_app)
    assert (args, headers["eta"]) == ([[str(text)], 1, ["mmg"]], None)

    # mmg still has all the weight when the retry runs: only avoiding it sends the text to firetext.
    set_weights(sessions, mmg=100, firetext=0)
    clock.advance(seconds=CACHE_TTL.total_seconds())
    celery_app.tasks["deliver_sms"](*args)
    row = load(sessions, text)
    assert (row.status, row.sent_by, len(firetext.sent)) == ("sending", "firetext", 1)
    assert take_messages(celery_app, RETRY_QUEUE) == []


def test_without_avoid_a_retry_follows_the_weights(
        celery_app: Celery, clock: ManualClock, add_notification: AddNotification,
        sessions: sessionmaker[Session]) -> None:
    # The control for the test above: the same message without `avoid` goes where the weight is.
    mmg, firetext = FakeSms(clock=clock), FakeSms(clock=clock, name="firetext")
    use_clients(celery_app, mmg, firetext)
    set_weights(sessions, mmg=100, firetext=0)
    text = add_notification(key_type="normal")
    celery_app.tasks["deliver_sms"]([str(text)], 1)
    assert (load(sessions, text).sent_by, len(mmg.sent), len(firetext.sent)) == ("mmg", 1, 0)


def test_later_retries_avoid_no_provider_and_wait_the_retry_delay(
        celery_app: Celery, clock: ManualClock, add_notification: AddNotification,
        sessions: sessionmaker[Session]) -> None:
    use_clients(celery_app, FakeSms(clock=clock, error=unavailable("mmg")), FakeSms(clock=clock, name="firetext"))
    set_weights(sessions, mmg=100, firetext=0)
    text = add_notification(key_type="normal")
    before = datetime.now(UTC)  # Celery dates the message's eta by the real clock
    celery_app.tasks["deliver_sms"]([str(text)], 1, ["firetext"])  # even a retry that avoided a provider
    after = datetime.now(UTC)
    headers, args = the_retry(celery_app)
    assert args == [[str(text)], 2]
    eta = datetime.fromisoformat(headers["eta"])
    assert before + timedelta(seconds=300) <= eta <= after + timedelta(seconds=300)
    assert load(sessions, text).status == "created"


# What counts as a fault.

def test_a_permanent_error_is_not_a_fault_and_moves_no_weight(
        celery_app: Celery, clock: ManualClock, add_notification: AddNotification,
        sessions: sessionmaker[Session]) -> None:
    use_clients(celery_app, FakeSms(clock=clock, error=PermanentProviderError("mmg", "invalid number")))
    text = add_notification(key_type="normal")
    celery_app.tasks["deliver_sms"]([str(text)], 0)
    assert load(sessions, text).status == "technical-failure"
    assert take_messages(celery_app, RETRY_QUEUE) == []
    assert weights(sessions) == {"mmg": 51, "firetext": 49}
    assert automatic_history(sessions) == []


def test_a_throttle_is_not_a_fault_but_its_immediate_retry_still_avoids_the_provider(
        celery_app: Celery, clock: ManualClock, add_notification: AddNotification,
        sessions: sessionmaker[Session]) -> None:
    use_clients(celery_app, FakeSms(clock=clock, error=ProviderThrottled("mmg", "HTTP 429")))
    text = add_notification(key_type="normal")
    celery_app.tasks["deliver_sms"]([str(text)], 0)
    headers, args = the_retry(celery_app)
    assert (args, headers["eta"]) == ([[str(text)], 1, ["mmg"]], None)
    assert weights(sessions) == {"mmg": 51, "firetext": 49}
    assert automatic_history(sessions) == []


def test_a_batch_with_many_faults_moves_the_weight_one_step(
        celery_app: Celery, clock: ManualClock, add_notification: AddNotification,
        sessions: sessionmaker[Session]) -> None:
    use_clients(celery_app, FakeSms(clock=clock, error=unavailable("mmg")))  # only mmg: every text goes there
    texts = [add_notification(key_type="normal") for _ in range(5)]
    celery_app.tasks["deliver_sms"]([str(t) for t in texts], 0)

    assert weights(sessions) == {"mmg": 41, "firetext": 59}
    assert automatic_history(sessions) == [
        ("firetext", 49, 59, "Increased due to reduced reliability in other provider"),
        ("mmg", 51, 41, "Reduced due to reduced reliability"),
    ]
    # Every text is still retried, each on its own and away from mmg.
    retries = take_messages(celery_app, RETRY_QUEUE)
    assert sorted(args[0][0] for _, args in retries) == sorted(map(str, texts))
    assert {(args[1], tuple(args[2])) for _, args in retries} == {(1, ("mmg",))}


# Email: failover to the SMTP relay only where the process has one.

def test_an_email_fault_on_ses_is_retried_through_smtp_when_smtp_is_configured(
        celery_app: Celery, clock: ManualClock, add_notification: AddNotification,
        sessions: sessionmaker[Session]) -> None:
    smtp = FakeSmtp(clock=clock)
    use_clients(celery_app, FakeEmail(clock=clock, error=unavailable("ses")), smtp)
    email = add_notification(notification_type="email", key_type="normal")

    celery_app.tasks["deliver_email"]([str(email)], 0)
    headers, args = the_retry(celery_app)
    assert (args, headers["eta"]) == ([[str(email)], 1, ["ses"]], None)

    set_weights(sessions, ses=10, smtp=5)  # ses still first in order: only avoiding it sends this to smtp
    clock.advance(seconds=CACHE_TTL.total_seconds())
    celery_app.tasks["deliver_email"](*args)
    row = load(sessions, email)
    assert (row.status, row.sent_by, len(smtp.sent)) == ("sent", "smtp", 1)


def test_an_email_retry_goes_to_ses_again_when_the_process_has_no_smtp_client(
        celery_app: Celery, clock: ManualClock, add_notification: AddNotification,
        sessions: sessionmaker[Session]) -> None:
    ses = FakeEmail(clock=clock, error=unavailable("ses"))
    use_clients(celery_app, ses)
    email = add_notification(notification_type="email", key_type="normal")
    celery_app.tasks["deliver_email"]([str(email)], 0)
    _, args = the_retry(celery_app)
    assert args == [[str(email)], 1, ["ses"]]

    ses.error = None  # SES has recovered
    set_weights(sessions, ses=0, smtp=100)  # smtp first in the database, but this process cannot send through it
    clock.advance(seconds=CACHE_TTL.total_seconds())
    celery_app.tasks["deliver_email"](*args)
    row = load(sessions, email)
    assert (row.status, row.sent_by, len(ses.sent)) == ("sending", "ses", 1)
    assert take_messages(celery_app, RETRY_QUEUE) == []


# The routing beat tasks, run by the worker.

def test_tend_back_moves_weights_back_toward_the_resting_points_after_the_quiet_hour(
        celery_app: Celery, clock: ManualClock, sessions: sessionmaker[Session]) -> None:
    balancer = worker_context(celery_app).balancer
    balancer.report_faults("sms", "mmg")
    clock.advance(seconds=61)  # past the fault guard
    balancer.report_faults("sms", "mmg")
    assert weights(sessions) == {"mmg": 31, "firetext": 69}
    tend_back = celery_app.tasks[TEND_BACK_TASK]

    clock.advance(minutes=59)
    assert tend_back() == 0  # within the quiet hour since the weights last changed
    assert weights(sessions) == {"mmg": 31, "firetext": 69}

    clock.advance(minutes=1)
    assert tend_back() == 2  # one step, both providers
    assert weights(sessions) == {"mmg": 41, "firetext": 59}
    clock.advance(minutes=5)  # the next run: the step itself was a change, so another quiet hour first
    assert tend_back() == 0
    clock.advance(minutes=55)
    assert tend_back() == 2
    assert weights(sessions) == {"mmg": 51, "firetext": 49}
    clock.advance(hours=1)
    assert tend_back() == 0  # at rest


def test_the_slow_delivery_check_takes_weight_from_a_slow_provider(
        celery_app: Celery, clock: ManualClock, add_notification: AddNotification,
        sessions: sessionmaker[Session]) -> None:
    sent_at = clock.now() - timedelta(minutes=5)
    for _ in range(3):  # firetext: sent five minutes ago and still not delivered
        add_notification(key_type="normal", status="sending", sent_by="firetext", created_at=sent_at,
                         sent_at=sent_at, updated_at=sent_at)
    for _ in range(3):  # mmg: delivered within seconds
        add_notification(key_type="normal", status="delivered", sent_by="mmg", created_at=sent_at,
                         sent_at=sent_at, updated_at=sent_at + timedelta(seconds=5))
    check = celery_app.tasks[SLOW_DELIVERY_TASK]

    assert check() == 2
    assert weights(sessions) == {"mmg": 61, "firetext": 39}
    assert {(p, old, new) for p, old, new, _ in automatic_history(sessions)} == {("firetext", 49, 39),
                                                                                 ("mmg", 51, 61)}
    assert check() == 0  # within the guard after a change
