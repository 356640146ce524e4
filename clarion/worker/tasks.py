"""Celery tasks: thin adapters from queue messages (batches of ids) to clarion.delivery.

Each id in a batch is delivered on its own: a failure of one schedules a retry message for that id
alone (RetryPolicy: at once and to another provider, then every 5 minutes), and spent retries end in
technical-failure. Provider faults are reported to the routing policy, which may move weight.
The database is the source of truth, so a duplicate message finds the notification no longer
`created` and does nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from typing import Any

from celery import Celery, Task, shared_task

from clarion.delivery import send, sweepers
from clarion.limits import database_store
from clarion.providers.errors import ProviderError, RetryableProviderError
from clarion.routing.select import NoActiveProvider
from clarion.worker import dispatch
from clarion.worker.context import WorkerContext, worker_context
from clarion.worker.queues import PURGE_LIMITS_TASK, RECORD_HAND_OFF_TASK, REQUEUE_TASK, TIMEOUT_TASK

__all__ = ["deliver_email", "deliver_sms", "purge_limit_counters", "record_hand_off", "requeue_created", "retry_or_give_up",
           "requeue_created_notifications", "time_out_sending", "timeout_sending_notifications"]

logger = logging.getLogger(__name__)
# A hand-off the database refused is recorded later: after 5 s, doubling to every 5 minutes, for a day.
RECORD_RETRY_S, RECORD_RETRY_MAX_S, RECORD_MAX_ATTEMPTS = 5, 300, 300
REQUEUE_LIMIT = 10_000  # per channel per sweep; the next sweep takes the rest
EXPECTED_FAILURES = (ProviderError, NoActiveProvider)  # logged without a traceback


@shared_task(bind=True, name="deliver_sms", acks_late=True, ignore_result=True)
def deliver_sms(self: Task, notification_ids: list[str], attempt: int = 0, avoid: list[str] | None = None) -> None:
    """Queue adapter for clarion.delivery.send.deliver: a batch of text messages."""
    _deliver_batch(self.app, "sms", notification_ids, attempt, avoid or [])


@shared_task(bind=True, name="deliver_email", acks_late=True, ignore_result=True)
def deliver_email(self: Task, notification_ids: list[str], attempt: int = 0, avoid: list[str] | None = None) -> None:
    """Queue adapter for clarion.delivery.send.deliver: a batch of emails."""
    _deliver_batch(self.app, "email", notification_ids, attempt, avoid or [])


@shared_task(bind=True, name=RECORD_HAND_OFF_TASK, acks_late=True, ignore_result=True)
def record_hand_off(self: Task, hand_off: dict[str, Any], attempt: int = 0) -> None:
    """Record a hand-off the delivery attempt could not; retried with backoff for a day, never resent."""
    context = worker_context(self.app)
    try:
        with context.sessions.begin() as session:
            send.record_hand_offs(session, [send.HandOff.from_message(hand_off)])
    except Exception:
        fields = {"notification_id": hand_off.get("id"), "attempt": attempt}
        if attempt >= RECORD_MAX_ATTEMPTS:
            logger.exception("gave up recording a hand-off; the notification may be sent again", extra=fields)
            return
        logger.exception("could not record a hand-off yet", extra=fields)
        countdown = min(RECORD_RETRY_MAX_S, RECORD_RETRY_S * 2 ** attempt)
        dispatch.enqueue_record_hand_off(self.app, hand_off, attempt=attempt + 1, countdown=countdown)


@shared_task(bind=True, name=REQUEUE_TASK, ignore_result=True)
def requeue_created_notifications(self: Task) -> int:
    """Beat task: put notifications still `created` after a while back on the delivery queues."""
    return requeue_created(self.app, worker_context(self.app))


@shared_task(bind=True, name=TIMEOUT_TASK, ignore_result=True)
def timeout_sending_notifications(self: Task) -> int:
    """Beat task: give up on notifications no provider reported on (temporary-failure)."""
    return time_out_sending(worker_context(self.app))


@shared_task(bind=True, name=PURGE_LIMITS_TASK, ignore_result=True)
def purge_limit_counters(self: Task) -> int:
    """Beat task: delete spent rate-limit and daily-limit rows (the database backend's, when no Redis)."""
    context = worker_context(self.app)
    with context.sessions.begin() as session:
        return session.execute(database_store.purge_statement(context.clock.now().timestamp())).rowcount


def _deliver_batch(app: Celery, notification_type: str, notification_ids: list[str], attempt: int,
                   avoid: list[str]) -> None:
    context = worker_context(app)
    ids = dispatch.parse_ids(notification_ids)
    if not ids:
        return
    results = send.deliver_batch(ids, sessions=context.sessions, clients=context.clients, clock=context.clock,
                                 choose=context.router.choose, options=context.delivery, run=context.run,
                                 avoid=avoid)
    report_faults(context, notification_type, results)
    for result in results:
        if result.error is None:
            continue
        try:
            retry_or_give_up(app, context, notification_type, result, attempt)
        except Exception:  # e.g. the database or broker failed while scheduling its retry
            # The rest of the batch still goes; this one is `created` and the sweeper re-queues it.
            logger.exception("could not schedule a retry", extra={"notification_id": str(result.notification_id)})


def report_faults(context: WorkerContext, notification_type: str, results: list[send.AttemptResult]) -> None:
    """Tell the routing policy which providers failed sends with a fault (5xx, timeout, connection)."""
    faults = Counter(r.provider for r in results if r.provider and isinstance(r.error, RetryableProviderError))
    for provider, count in faults.items():
        try:
            context.balancer.report_faults(notification_type, provider, count)
        except Exception:  # routing must never stop the retries below
            logger.exception("could not account for provider faults", extra={"provider": provider, "faults": count})


def retry_or_give_up(app: Celery, context: WorkerContext, notification_type: str, result: send.AttemptResult,
                     attempt: int) -> None:
    """After a failed attempt: schedule the retry, or mark technical-failure once retries are spent."""
    notification_id, error = result.notification_id, result.error
    fields = {"notification_id": str(notification_id), "attempt": attempt, "provider": result.provider}
    if isinstance(error, send.HandOffNotRecorded):
        # Never sent again: the hand-off itself is recorded later, through the queue.
        logger.error("a provider accepted a notification the database did not record; recording it later",
                     extra=fields)
        dispatch.enqueue_record_hand_off(app, error.hand_off.to_message(), countdown=RECORD_RETRY_S)
        return
    if isinstance(error, EXPECTED_FAILURES):
        logger.warning("delivery attempt failed", extra={**fields, "error": str(error)})
    else:  # as Notify does: anything else is retried too, with its traceback logged
        logger.error("delivery attempt failed unexpectedly", exc_info=error, extra=fields)
    countdown = context.retry_policy.countdown_after(attempt)
    if countdown is None:
        send.mark_technical_failure(notification_id, sessions=context.sessions, clock=context.clock,
                                    reason=f"RETRY FAILED: max retries reached after {attempt + 1} attempts")
        return
    send.note_failed_attempt(notification_id, sessions=context.sessions, clock=context.clock)
    # Failover for the message itself: the first retry goes at once to another provider, if there is one.
    avoid = [result.provider] if attempt == 0 and result.provider and isinstance(error, ProviderError) else []
    dispatch.enqueue_retry(app, notification_type, notification_id, attempt=attempt + 1, countdown=countdown,
                           avoid=avoid)


def requeue_created(app: Celery, context: WorkerContext) -> int:
    """Claim notifications stuck in `created` and enqueue them in batches; returns how many."""
    settings, now = context.settings, context.clock.now()
    total = 0
    for notification_type in sweepers.SWEPT_TYPES:
        with context.sessions.begin() as session:
            ids = sweepers.requeue_stuck_created(
                session, notification_type=notification_type, now=now,
                older_than=timedelta(seconds=settings.requeue_created_after_s),
                lookback=timedelta(seconds=settings.requeue_created_lookback_s), limit=REQUEUE_LIMIT)
        for batch in dispatch.chunked(ids):
            dispatch.enqueue_delivery(app, notification_type, batch)
        total += len(ids)
    if total:
        logger.info("re-queued notifications still created", extra={"count": total})
    return total


def time_out_sending(context: WorkerContext) -> int:
    """Sending/pending past the timeout → temporary-failure; still created → technical-failure; returns how many."""
    timeout = timedelta(seconds=context.settings.sending_timeout_s)
    with context.sessions.begin() as session:
        count = sweepers.time_out_sending(session, now=context.clock.now(), older_than=timeout)
        count += sweepers.give_up_on_created(session, now=context.clock.now(), older_than=timeout)
        count += sweepers.time_out_letters(session, now=context.clock.now(),
                                           older_than=timedelta(seconds=context.settings.letter_sending_timeout_s))
    if count:
        logger.info("timed out notifications no provider reported on", extra={"count": count})
    return count
