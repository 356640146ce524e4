"""The queue and task names clarion's workers use (Notify's names, reference/notify-brief.md §8.2)."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ALL_QUEUES", "DELIVERY_QUEUES", "DELIVERY_TASKS", "PERIODIC_QUEUE", "RETRY_QUEUE"]

SEND_SMS_QUEUE = "send-sms-tasks"
SEND_EMAIL_QUEUE = "send-email-tasks"
RETRY_QUEUE = "retry-tasks"
PERIODIC_QUEUE = "periodic-tasks"
ALL_QUEUES = (SEND_SMS_QUEUE, SEND_EMAIL_QUEUE, RETRY_QUEUE, PERIODIC_QUEUE)

DELIVERY_QUEUES: Mapping[str, str] = {"sms": SEND_SMS_QUEUE, "email": SEND_EMAIL_QUEUE}
DELIVERY_TASKS: Mapping[str, str] = {"sms": "deliver_sms", "email": "deliver_email"}
REQUEUE_TASK = "requeue_created_notifications"
TIMEOUT_TASK = "timeout_sending_notifications"
PURGE_LIMITS_TASK = "purge_limit_counters"
