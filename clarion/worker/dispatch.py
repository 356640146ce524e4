"""Put notification ids on the delivery queues. The API, the sweeper and retries all send through here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
import logging
from typing import Any
from uuid import UUID

from celery import Celery

from clarion.worker.queues import DELIVERY_QUEUES, DELIVERY_TASKS, RECORD_HAND_OFF_TASK, RETRY_QUEUE

__all__ = ["DELIVERY_BATCH_SIZE", "chunked", "enqueue_delivery", "enqueue_record_hand_off", "enqueue_retry",
           "parse_ids"]

logger = logging.getLogger(__name__)

DELIVERY_BATCH_SIZE = 100  # ids per message: a Celery message costs ~1 ms, one id's delivery far more


def _task_for(notification_type: str) -> str:
    if notification_type not in DELIVERY_TASKS:
        raise ValueError(f"no delivery queue for {notification_type!r}; expected one of {sorted(DELIVERY_TASKS)}")
    return DELIVERY_TASKS[notification_type]


def enqueue_delivery(celery_app: Celery, notification_type: str, ids: Sequence[UUID | str]) -> None:
    """Send one message carrying these ids to the channel's delivery queue (nothing when empty)."""
    task = _task_for(notification_type)
    if not ids:
        return
    celery_app.send_task(task, args=[[str(i) for i in ids], 0], queue=DELIVERY_QUEUES[notification_type])


def enqueue_retry(celery_app: Celery, notification_type: str, notification_id: UUID | str, *, attempt: int,
                  countdown: int, avoid: Sequence[str] = ()) -> None:
    """Send one id back for attempt number `attempt`, on the retry queue, after `countdown` seconds.

    `avoid` names providers the attempt should go elsewhere than, when another is eligible.
    """
    args: list[Any] = [[str(notification_id)], attempt]
    if avoid:
        args.append(list(avoid))
    celery_app.send_task(_task_for(notification_type), args=args, queue=RETRY_QUEUE, countdown=countdown or None)


def enqueue_record_hand_off(celery_app: Celery, hand_off: dict[str, Any], *, attempt: int = 0,
                            countdown: float | None = None) -> None:
    """Ask a worker to record a hand-off the database refused: the provider has it, so never resend it."""
    celery_app.send_task(RECORD_HAND_OFF_TASK, args=[hand_off, attempt], queue=RETRY_QUEUE, countdown=countdown)


def parse_ids(raw_ids: Iterable[object]) -> list[UUID]:
    """The ids of a queue message; a malformed one is logged and dropped, never fatal to the batch."""
    ids = []
    for raw in raw_ids:
        try:
            ids.append(UUID(str(raw)))
        except ValueError:
            logger.error("dropped a malformed notification id", extra={"notification_id": repr(raw)})
    return ids


def chunked(ids: Iterable[UUID], size: int = DELIVERY_BATCH_SIZE) -> Iterator[list[UUID]]:
    """The ids in lists of at most `size`, for one message each."""
    batch: list[UUID] = []
    for notification_id in ids:
        batch.append(notification_id)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
