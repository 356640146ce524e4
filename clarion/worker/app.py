"""The Celery app: broker from BROKER_URL, clarion's queues, tasks and beat schedule.

The embedded default `filesystem://.clarion/broker` needs no server (kombu's filesystem transport,
with the fix in `clarion.worker.broker`);
`redis://...` or `amqp://...` work unchanged. Messages are acknowledged after the task ran
(`task_acks_late`) and re-queued if the worker dies, so a killed worker never loses one; the
database stays the source of truth either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import Celery
from kombu import Queue

from clarion.config import DATA_DIR, Settings
from clarion.worker import broker, context, schedule
from clarion.worker import letter_tasks as _letter_tasks  # noqa: F401  (registers the letter tasks)
from clarion.worker import receipt_tasks as _receipt_tasks  # noqa: F401  (registers process_receipts)
from clarion.worker import routing_tasks as _routing_tasks  # noqa: F401  (registers the routing beat tasks)
from clarion.worker import tasks as _tasks  # noqa: F401  (registers the tasks with every app)
from clarion.worker.queues import (
    ALL_QUEUES,
    COLLATE_LETTERS_TASK,
    CREATE_LETTERS_PDF_QUEUE,
    PERIODIC_QUEUE,
    PREPARE_LETTERS_TASK,
    RECEIPTS_TASK,
    RETRY_QUEUE,
    SEND_LETTER_QUEUE,
    SEND_LETTERS_TASK,
    SMS_CALLBACKS_QUEUE,
)

__all__ = ["celery_app_from_environment", "make_celery"]

FILESYSTEM_SCHEME = "filesystem://"


def filesystem_transport_options(folder: Path) -> dict[str, Any]:
    """Transport options for kombu's filesystem broker in `folder` (created if missing)."""
    folder = folder.resolve()
    queue, processed, control = folder / "queue", folder / "processed", folder / "control"
    for path in (queue, processed, control):
        path.mkdir(parents=True, exist_ok=True)
    return {"data_folder_in": str(queue), "data_folder_out": str(queue), "processed_folder": str(processed),
            "control_folder": str(control), "polling_interval": 0.1}


def _broker(settings: Settings) -> tuple[str, dict[str, Any]]:
    url = settings.broker_url
    if url.startswith(FILESYSTEM_SCHEME):  # kombu's, with whole-message writes (clarion.worker.broker)
        return broker.SCHEME, filesystem_transport_options(Path(url[len(FILESYSTEM_SCHEME):]))
    if url.startswith("memory://"):
        return url, {"polling_interval": 0.05}
    return url, {}


def make_celery(settings: Settings) -> Celery:
    """A Celery app for these settings, with clarion's queues, routes, tasks and beat schedule."""
    broker_url, transport_options = _broker(settings)
    app = Celery("clarion", set_as_current=False)
    app.conf.update(
        broker_url=broker_url,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        result_backend=None,
        accept_content=["json"],
        task_serializer="json",
        timezone="UTC",
        enable_utc=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        task_queues=[Queue(name, routing_key=name) for name in ALL_QUEUES],
        task_default_queue=RETRY_QUEUE,
        task_routes={
            "deliver_sms": {"queue": "send-sms-tasks"},
            "deliver_email": {"queue": "send-email-tasks"},
            "requeue_created_notifications": {"queue": PERIODIC_QUEUE},
            "timeout_sending_notifications": {"queue": PERIODIC_QUEUE},
            RECEIPTS_TASK: {"queue": SMS_CALLBACKS_QUEUE},  # SES batches name ses-callbacks when sent
            PREPARE_LETTERS_TASK: {"queue": CREATE_LETTERS_PDF_QUEUE},
            SEND_LETTERS_TASK: {"queue": SEND_LETTER_QUEUE},
            COLLATE_LETTERS_TASK: {"queue": PERIODIC_QUEUE},
        },
        beat_schedule=schedule.beat_schedule(settings),
        beat_schedule_filename=str(DATA_DIR / "celerybeat-schedule"),
    )
    context.bind_settings(app, settings)
    return app


def celery_app_from_environment() -> Celery:
    """The app for `clarion worker` and `clarion scheduler`: Settings read once, here at the edge."""
    return make_celery(Settings())
