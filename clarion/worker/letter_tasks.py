"""Celery tasks for letters: thin adapters from queue messages (batches of ids) to the letter flows.

  prepare_letters       create-letters-pdf-tasks  render a template letter, or scan and check a precompiled
                                                  one (clarion.delivery.letters); with LETTERS_SEND_MODE=as_ready
                                                  the letters it made ready go straight on to DVLA
  send_letters_to_dvla  send-letter-tasks         hand ready letters to DVLA (clarion.delivery.letter_printing)
  collate_letters       periodic-tasks (beat)     the daily batch after the cut-off (as_ready: ready letters
                                                  whose message was lost); letters never prepared go back to
                                                  prepare_letters; precompiled letters never checked in time
                                                  end technical-failure

A failure of one id is retried for that id alone with the delivery retry policy (at once, then every
DELIVERY_RETRY_DELAY_S, DELIVERY_MAX_RETRIES in all); spent retries end in technical-failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from uuid import UUID

from celery import Celery, Task, shared_task

from clarion.config import Settings
from clarion.delivery import letter_printing, letters, send
from clarion.worker import dispatch
from clarion.worker.context import LetterParts, WorkerContext, worker_context
from clarion.worker.queues import (
    COLLATE_LETTERS_TASK,
    PREPARE_LETTERS_TASK,
    RETRY_QUEUE,
    SEND_LETTER_QUEUE,
    SEND_LETTERS_TASK,
)

__all__ = ["collate", "collate_letters", "enqueue_sending", "prepare", "prepare_letters", "recollect_after",
           "send_to_dvla", "send_letters_to_dvla"]

logger = logging.getLogger(__name__)
Requeue = Callable[[UUID, int, int], None]  # (id, next attempt, countdown seconds)
COLLATE_LIMIT = 10_000  # letters per sweep; the next sweep takes the rest


@shared_task(bind=True, name=PREPARE_LETTERS_TASK, acks_late=True, ignore_result=True)
def prepare_letters(self: Task, notification_ids: list[str], attempt: int = 0) -> None:
    """Queue adapter for clarion.delivery.letters.prepare_letters."""
    prepare(self.app, worker_context(self.app), dispatch.parse_ids(notification_ids), attempt)


@shared_task(bind=True, name=SEND_LETTERS_TASK, acks_late=True, ignore_result=True)
def send_letters_to_dvla(self: Task, notification_ids: list[str], attempt: int = 0) -> None:
    """Queue adapter for clarion.delivery.letter_printing.send_letters."""
    send_to_dvla(self.app, worker_context(self.app), dispatch.parse_ids(notification_ids), attempt)


@shared_task(bind=True, name=COLLATE_LETTERS_TASK, ignore_result=True)
def collate_letters(self: Task) -> int:
    """Beat task: queue the letters due at DVLA, and put letters that were never prepared back."""
    return collate(self.app, worker_context(self.app))


def prepare(app: Celery, context: WorkerContext, ids: list[UUID], attempt: int) -> None:
    """Prepare a batch; retry the ids that failed; send the ready ones on in as_ready mode."""
    parts = _parts(context)
    if parts is None or not ids:
        return
    results = letters.prepare_letters(ids, sessions=context.sessions, stores=parts.stores, scanner=parts.scanner,
                                      clock=context.clock, options=parts.options)
    for result in results:
        if result.error is not None:
            _retry_or_give_up(context, result.notification_id, result.error, attempt,
                              lambda i, n, c: dispatch.enqueue_retry(app, "letter", i, attempt=n, countdown=c))
    ready = [r.notification_id for r in results if r.outcome == letters.PrepareOutcome.READY]
    if ready and context.settings.letters_send_mode == "as_ready":
        enqueue_sending(app, ready)


def send_to_dvla(app: Celery, context: WorkerContext, ids: list[UUID], attempt: int) -> None:
    """Hand a batch to DVLA; retry the ids that failed."""
    parts = _parts(context)
    if parts is None or not ids:
        return
    if parts.printer is None:
        logger.error("letters are ready but no DVLA client is configured; they wait", extra={"count": len(ids)})
        return
    results = letter_printing.send_letters(ids, sessions=context.sessions, pdfs=parts.stores.pdf,
                                           client=parts.printer, clock=context.clock,
                                           claim_lasts=parts.options.claim_lasts, run=context.run,
                                           pdf_readers=context.settings.letter_pdf_readers)
    for result in results:
        if isinstance(result.error, letter_printing.SendingNotRecorded):
            continue  # DVLA has it; collation finds it once its claim lapses, and DVLA's 409 settles it
        if result.error is not None:
            _retry_or_give_up(context, result.notification_id, result.error, attempt,
                              lambda i, n, c: enqueue_sending(app, [i], attempt=n, countdown=c))


def enqueue_sending(app: Celery, ids: Iterable[UUID], *, attempt: int = 0, countdown: int | None = None) -> None:
    """Queue letters for DVLA, in messages of at most DELIVERY_BATCH_SIZE ids (retries on the retry queue)."""
    queue = SEND_LETTER_QUEUE if attempt == 0 else RETRY_QUEUE
    for batch in dispatch.chunked(ids):
        app.send_task(SEND_LETTERS_TASK, args=[[str(i) for i in batch], attempt], queue=queue,
                      countdown=countdown or None)


def collate(app: Celery, context: WorkerContext) -> int:
    """Queue due letters for DVLA and unprepared ones for preparing; give up on unchecked ones. Returns how many."""
    settings, now = context.settings, context.clock.now()
    lasts = timedelta(seconds=settings.delivery_claim_s)
    made_before, untouched_since = letter_printing.due_window(settings.letters_send_mode, now,
                                                              cutoff_time=settings.letters_cutoff_time,
                                                              settle=recollect_after(settings))
    with context.sessions.begin() as session:  # stamped and committed first, then queued
        due = letter_printing.collect_due(session, made_before=made_before, untouched_since=untouched_since,
                                          now=now, lasts=lasts, limit=COLLATE_LIMIT)
    enqueue_sending(app, due)
    with context.sessions.begin() as session:
        unprepared = letters.requeue_unprepared(
            session, now=now, older_than=timedelta(seconds=settings.requeue_created_after_s),
            lookback=timedelta(seconds=settings.requeue_created_lookback_s), lasts=lasts, limit=COLLATE_LIMIT)
        given_up = letters.give_up_on_unchecked(session, now=now,
                                                older_than=timedelta(seconds=settings.sending_timeout_s))
    for batch in dispatch.chunked(unprepared):
        dispatch.enqueue_delivery(app, "letter", batch)
    if due or unprepared or given_up:
        logger.info("letters collated", extra={"due": len(due), "requeued": len(unprepared), "given_up": given_up})
    return len(due) + len(unprepared) + given_up


def recollect_after(settings: Settings) -> timedelta:
    """How long a ready letter must go untouched before collation queues it (again).

    Every attempt touches the letter (collation's stamp, a failed attempt's release), and a retry runs at
    most DELIVERY_RETRY_DELAY_S after that, so twice the delay leaves a retry chain alone, with a
    delay's worth of room for a busy queue, and only a letter whose message was lost is queued again.
    In as_ready mode each letter was queued when it was prepared: wait REQUEUE_CREATED_AFTER_S too.
    """
    settle_s = 2 * settings.delivery_retry_delay_s
    if settings.letters_send_mode == "as_ready":
        settle_s = max(settle_s, settings.requeue_created_after_s)
    return timedelta(seconds=settle_s)


def _retry_or_give_up(context: WorkerContext, notification_id: UUID, error: Exception, attempt: int,
                      requeue: Requeue) -> None:
    fields = {"notification_id": str(notification_id), "attempt": attempt, "error": str(error)}
    countdown = context.retry_policy.countdown_after(attempt)
    if countdown is None:
        send.mark_technical_failure(notification_id, sessions=context.sessions, clock=context.clock,
                                    reason=f"RETRY FAILED: max retries reached after {attempt + 1} attempts")
        return
    logger.warning("letter attempt failed; retrying", extra=fields)
    try:
        requeue(notification_id, attempt + 1, countdown)
    except Exception:  # the broker failed: the letter keeps its status and collate_letters finds it again
        logger.exception("could not schedule a letter retry", extra=fields)


def _parts(context: WorkerContext) -> LetterParts | None:
    if context.letters is None:
        logger.error("this worker was built without letter stores, scanner or printer")
    return context.letters


