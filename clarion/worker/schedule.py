"""The beat entries: the sweepers that make sure every notification reaches a final status."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from clarion.config import Settings
from clarion.worker.queues import COLLATE_LETTERS_TASK, PERIODIC_QUEUE, PURGE_LIMITS_TASK, REQUEUE_TASK, TIMEOUT_TASK

PURGE_LIMITS_EVERY = timedelta(hours=1)

__all__ = ["beat_schedule"]


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Celery beat entries, every `settings.sweep_interval_s`, on the periodic queue."""
    every = timedelta(seconds=settings.sweep_interval_s)
    # A sweep nobody ran before the next one is due is dropped, so a stopped worker finds one, not hundreds.
    options = {"queue": PERIODIC_QUEUE, "expires": settings.sweep_interval_s}
    return {
        "requeue-created-notifications": {"task": REQUEUE_TASK, "schedule": every, "options": options},
        "timeout-sending-notifications": {"task": TIMEOUT_TASK, "schedule": every, "options": options},
        # Letters: the daily batch once the cut-off has passed (LETTERS_SEND_MODE=daily; the task reads the
        # cut-off from its clock, so any run after it sends the day's letters), and the letters' own sweeps.
        "collate-letters": {"task": COLLATE_LETTERS_TASK, "schedule": every, "options": options},
        "purge-limit-counters": {"task": PURGE_LIMITS_TASK, "schedule": PURGE_LIMITS_EVERY,
                                 "options": {"queue": PERIODIC_QUEUE, "expires": PURGE_LIMITS_EVERY.total_seconds()}},
    }
