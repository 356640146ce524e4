"""The queue: Celery app, delivery and sweeper tasks, beat schedule, and the worker's shared context."""

from clarion.worker.app import celery_app_from_environment, make_celery
from clarion.worker.context import WorkerContext, install_context, worker_context
from clarion.worker.dispatch import enqueue_delivery

__all__ = ["WorkerContext", "celery_app_from_environment", "enqueue_delivery", "install_context",
           "make_celery", "worker_context"]
