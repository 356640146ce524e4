"""Beat tasks of the routing policy: the slow-delivery check and tend-back (clarion.routing.policy)."""

from __future__ import annotations

from celery import Task, shared_task

from clarion.worker.context import worker_context
from clarion.worker.queues import SLOW_DELIVERY_TASK, TEND_BACK_TASK

__all__ = ["check_slow_delivery", "tend_back"]

TENDED_CHANNELS = ("sms", "email")  # letters have one provider: nothing to tend


@shared_task(bind=True, name=SLOW_DELIVERY_TASK, ignore_result=True)
def check_slow_delivery(self: Task) -> int:
    """Take weight from text providers that deliver slowly; how many weights moved."""
    return len(worker_context(self.app).balancer.check_slow_delivery())


@shared_task(bind=True, name=TEND_BACK_TASK, ignore_result=True)
def tend_back(self: Task) -> int:
    """Move weights toward the resting points after a quiet spell; how many weights moved."""
    balancer = worker_context(self.app).balancer
    return sum(len(balancer.tend_back(channel)) for channel in TENDED_CHANNELS)
