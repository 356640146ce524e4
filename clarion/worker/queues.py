"""The queue and task names clarion's workers use (Notify's names, reference/notify-brief.md §8.2)."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ALL_QUEUES", "DELIVERY_QUEUES", "DELIVERY_TASKS", "PERIODIC_QUEUE", "RECEIPT_QUEUES", "RECEIPTS_TASK",
           "RETRY_QUEUE"]

SEND_SMS_QUEUE = "send-sms-tasks"
SEND_EMAIL_QUEUE = "send-email-tasks"
RETRY_QUEUE = "retry-tasks"
PERIODIC_QUEUE = "periodic-tasks"
SMS_CALLBACKS_QUEUE = "sms-callbacks"
SES_CALLBACKS_QUEUE = "ses-callbacks"
CREATE_LETTERS_PDF_QUEUE = "create-letters-pdf-tasks"  # render template letters, scan and check precompiled ones
SEND_LETTER_QUEUE = "send-letter-tasks"  # hand ready letters to DVLA
ALL_QUEUES = (SEND_SMS_QUEUE, SEND_EMAIL_QUEUE, RETRY_QUEUE, PERIODIC_QUEUE, SMS_CALLBACKS_QUEUE, SES_CALLBACKS_QUEUE,
              CREATE_LETTERS_PDF_QUEUE, SEND_LETTER_QUEUE)

RECEIPT_QUEUES: Mapping[str, str] = {"sms": SMS_CALLBACKS_QUEUE, "email": SES_CALLBACKS_QUEUE}
RECEIPTS_TASK = "process_receipts"

PREPARE_LETTERS_TASK = "prepare_letters"
SEND_LETTERS_TASK = "send_letters_to_dvla"
COLLATE_LETTERS_TASK = "collate_letters"

# A letter's first queue is where it is prepared; ready letters then go to SEND_LETTER_QUEUE.
DELIVERY_QUEUES: Mapping[str, str] = {"sms": SEND_SMS_QUEUE, "email": SEND_EMAIL_QUEUE,
                                      "letter": CREATE_LETTERS_PDF_QUEUE}
DELIVERY_TASKS: Mapping[str, str] = {"sms": "deliver_sms", "email": "deliver_email", "letter": PREPARE_LETTERS_TASK}
REQUEUE_TASK = "requeue_created_notifications"
RECORD_HAND_OFF_TASK = "record_hand_off"
TIMEOUT_TASK = "timeout_sending_notifications"
PURGE_LIMITS_TASK = "purge_limit_counters"
SLOW_DELIVERY_TASK = "switch_sms_provider_on_slow_delivery"
TEND_BACK_TASK = "tend_provider_weights_back"
