"""The receipt task: one queue message carries a batch of receipts, applied in one short transaction.

The API authenticates and parses receipts, then batches them onto `sms-callbacks` / `ses-callbacks`
(Notify's queue names). `process_receipts` applies a batch with clarion.receipts.apply in a handful
of statements. SES receipts whose reference is not in the database yet (the receipt beat the send's
commit) come back from the apply and are sent again, on the retry queue, after
UNKNOWN_REFERENCE_RETRY_DELAY_S; the apply stops handing them back once SES accepted the email more
than SES_UNKNOWN_REFERENCE_RETRY_S ago. An operational database error (a lost connection, a
deadlock) retries the whole batch, which is safe: every status moves by compare-and-set and
complaints are recorded once per feedback id. Any other error is about the data, and most likely
one receipt's: the batch is then applied again one receipt at a time, each in its own transaction,
so a receipt the database refuses is logged and dropped alone and the rest are applied (the
provider was already answered 200, so nothing else would bring them back).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, NoReturn

from celery import Celery, Task, shared_task
from sqlalchemy.exc import DBAPIError, OperationalError

from clarion.receipts import apply
from clarion.receipts.parse import Receipt
from clarion.worker.context import WorkerContext, worker_context
from clarion.worker.queues import RECEIPT_QUEUES, RECEIPTS_TASK, RETRY_QUEUE

__all__ = ["apply_batch", "enqueue_receipts", "process_receipts"]

log = logging.getLogger(__name__)
# The send commits the SES reference within moments of SES answering, so a short wait usually finds it.
UNKNOWN_REFERENCE_RETRY_DELAY_S = 30
# A backstop for an SES clock far ahead of ours, which would otherwise keep a receipt "young" for ever.
MAX_UNKNOWN_REFERENCE_RETRIES = 20
DATABASE_RETRY_DELAY_S = 30
DATABASE_MAX_RETRIES = 5


@shared_task(bind=True, name=RECEIPTS_TASK, acks_late=True, ignore_result=True)
def process_receipts(self: Task, receipts: list[dict[str, Any]], attempt: int = 0) -> None:
    """Queue adapter for clarion.receipts.apply: one batch of receipts from any provider."""
    context = worker_context(self.app)
    batch = _decode(receipts)
    try:
        retry_later = apply_batch(context, batch).retry_later
    except Exception as exc:  # noqa: BLE001  (whatever it is, one bad receipt must not cost the others)
        if _operational(exc):  # the whole batch is safe to repeat
            _retry_on_database(self, exc, batch, attempt)
        log.warning("receipt batch failed; applying its receipts one at a time",
                    extra={"count": len(batch), "error": _describe(exc)})
        retry_later = _apply_one_at_a_time(self, context, batch, attempt)
    if retry_later:
        _retry_unknown(self.app, retry_later, attempt)


def apply_batch(context: WorkerContext, receipts: Sequence[Receipt]) -> apply.BatchResult:
    """Apply receipts in one transaction with the worker's clock and settings."""
    window = timedelta(seconds=context.settings.ses_unknown_reference_retry_s)
    with context.sessions.begin() as session:
        return apply.apply_receipts(session, receipts, now=context.clock.now(), ses_retry_window=window)


def _apply_one_at_a_time(task: Task, context: WorkerContext, batch: Sequence[Receipt],
                         attempt: int) -> list[Receipt]:
    """Apply each receipt in its own transaction, dropping (and logging) any the database refuses.

    Returns the receipts to retry for an unknown reference. An operational error part-way retries
    only the receipts not yet applied.
    """
    retry_later: list[Receipt] = []
    for index, receipt in enumerate(batch):
        try:
            retry_later.extend(apply_batch(context, [receipt]).retry_later)
        except Exception as exc:  # noqa: BLE001
            if _operational(exc):
                if retry_later:
                    _retry_unknown(task.app, retry_later, attempt)
                _retry_on_database(task, exc, batch[index:], attempt)
            log.error("receipt dropped: it cannot be applied", exc_info=True, extra={
                "provider_name": receipt.provider, "reference": receipt.reference[:100], "event": receipt.event,
                "new_status": receipt.status, "error": _describe(exc)})
    return retry_later


def _operational(exc: Exception) -> bool:
    """Whether the database failed rather than refused the data: a lost connection, a deadlock, a timeout."""
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def _retry_on_database(task: Task, exc: Exception, receipts: Sequence[Receipt], attempt: int) -> NoReturn:
    log.warning("receipt batch failed on the database; retrying", extra={"count": len(receipts),
                                                                       "error": type(exc).__name__})
    raise task.retry(args=[[receipt.to_message() for receipt in receipts], attempt], exc=exc,
                     countdown=DATABASE_RETRY_DELAY_S, max_retries=DATABASE_MAX_RETRIES)


def _describe(exc: Exception) -> str:
    """The error's type and first line: for a database error the driver's words, without the SQL and its values."""
    cause = getattr(exc, "orig", None) or exc
    first_line = (str(cause).splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first_line[:200]}"


def enqueue_receipts(celery_app: Celery, channel: str, receipts: list[dict[str, Any]], *, attempt: int = 0,
                     countdown: int | None = None) -> None:
    """Send one message carrying these receipts: to the channel's queue, or to the retry queue when delayed."""
    if not receipts:
        return
    queue = RECEIPT_QUEUES[channel] if countdown is None else RETRY_QUEUE
    celery_app.send_task(RECEIPTS_TASK, args=[receipts, attempt], queue=queue, countdown=countdown)


def _decode(messages: list[dict[str, Any]]) -> list[Receipt]:
    receipts = []
    for message in messages:
        try:
            receipts.append(Receipt.from_message(message))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.error("dropped a malformed receipt message", extra={
                "fields": sorted(message)[:20] if isinstance(message, dict) else None,
                "error": f"{type(exc).__name__}: {str(exc)[:200]}"})
    return receipts


def _retry_unknown(app: Celery, receipts: list[Receipt], attempt: int) -> None:
    if attempt >= MAX_UNKNOWN_REFERENCE_RETRIES:
        log.warning("receipts for unknown references dropped after retries",
                    extra={"count": len(receipts), "attempts": attempt + 1})
        return
    enqueue_receipts(app, "email", [receipt.to_message() for receipt in receipts], attempt=attempt + 1,
                     countdown=UNKNOWN_REFERENCE_RETRY_DELAY_S)
