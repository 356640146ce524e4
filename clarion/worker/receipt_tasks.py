"""The receipt task: one queue message carries a batch of receipts, applied in one short transaction.

The API authenticates and parses receipts, then batches them onto `sms-callbacks` / `ses-callbacks`
(Notify's queue names). `process_receipts` applies a batch with clarion.receipts.apply in a handful
of statements. SES receipts whose reference is not in the database yet (the receipt beat the send's
commit) come back from the apply and are sent again, on the retry queue, after
UNKNOWN_REFERENCE_RETRY_DELAY_S; the apply stops handing them back once SES accepted the email more
than SES_UNKNOWN_REFERENCE_RETRY_S ago. A database error retries the whole batch, which is safe:
every status moves by compare-and-set and complaints are recorded once per feedback id.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from celery import Celery, Task, shared_task
from sqlalchemy.exc import OperationalError

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
        result = apply_batch(context, batch)
    except OperationalError as exc:  # a lost connection or a deadlock: the whole batch is safe to repeat
        log.warning("receipt batch failed on the database; retrying", extra={"count": len(batch),
                                                                           "error": type(exc).__name__})
        raise self.retry(exc=exc, countdown=DATABASE_RETRY_DELAY_S, max_retries=DATABASE_MAX_RETRIES)
    if result.retry_later:
        _retry_unknown(self.app, result.retry_later, attempt)


def apply_batch(context: WorkerContext, receipts: Sequence[Receipt]) -> apply.BatchResult:
    """Apply receipts in one transaction with the worker's clock and settings."""
    window = timedelta(seconds=context.settings.ses_unknown_reference_retry_s)
    with context.sessions.begin() as session:
        return apply.apply_receipts(session, receipts, now=context.clock.now(), ses_retry_window=window)


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
        except (KeyError, TypeError, ValueError, AttributeError):
            log.error("dropped a malformed receipt message", extra={"fields": sorted(message)[:20]
                                                                   if isinstance(message, dict) else None})
    return receipts


def _retry_unknown(app: Celery, receipts: list[Receipt], attempt: int) -> None:
    if attempt >= MAX_UNKNOWN_REFERENCE_RETRIES:
        log.warning("receipts for unknown references dropped after retries",
                    extra={"count": len(receipts), "attempts": attempt + 1})
        return
    enqueue_receipts(app, "email", [receipt.to_message() for receipt in receipts], attempt=attempt + 1,
                     countdown=UNKNOWN_REFERENCE_RETRY_DELAY_S)
