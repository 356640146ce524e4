"""The beat entries: the sweepers that make sure every notification reaches a final status, and routing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from clarion.config import Settings
from clarion.worker.queues import (COLLATE_LETTERS_TASK, PERIODIC_QUEUE, PURGE_LIMITS_TASK, REQUEUE_TASK,
                                   SLOW_DELIVERY_TASK, TEND_BACK_TASK, TIMEOUT_TASK)

PURGE_LIMITS_EVERY = timedelta(hours=1)

__all__ = ["beat_schedule"]


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Celery beat entries on the periodic queue: sweeps every `settings.sweep_interval_s`, and routing."""
    sweep = settings.sweep_interval_s
    return {
        "requeue-created-notifications": _every(REQUEUE_TASK, sweep),
        "timeout-sending-notifications": _every(TIMEOUT_TASK, sweep),
        # Letters: the daily batch once the cut-off has passed (LETTERS_SEND_MODE=daily; the task reads the
        # cut-off from its clock, so any run after it sends the day's letters), and the letters' own sweeps.
        "collate-letters": _every(COLLATE_LETTERS_TASK, sweep),
        # The routing policy (design.md §5): every minute and every 5 minutes by default.
        "switch-sms-provider-on-slow-delivery": _every(SLOW_DELIVERY_TASK, settings.sms_slow_check_interval_s),
        "tend-provider-weights-back": _every(TEND_BACK_TASK, settings.provider_tend_back_interval_s),
        "purge-limit-counters": _every(PURGE_LIMITS_TASK, PURGE_LIMITS_EVERY.total_seconds()),
    }


def _every(task: str, seconds: float) -> dict[str, Any]:
    # A run nobody took before the next is due is dropped, so a stopped worker finds one, not hundreds.
    return {"task": task, "schedule": timedelta(seconds=seconds),
            "options": {"queue": PERIODIC_QUEUE, "expires": seconds}}
