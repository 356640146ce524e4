"""A clarion Celery app on the in-memory broker, with a test context installed (ManualClock, test DB)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.config import Settings
from clarion.providers.registry import NotificationProviderClients
from clarion.worker import app as worker_app
from clarion.worker.context import WorkerContext, install_context
from clarion.worker.queues import ALL_QUEUES
from tests.unit.delivery.factory import add_notification  # noqa: F401  (fixture)


def take_messages(app: Celery, queue: str) -> list[tuple[dict[str, Any], list[Any]]]:
    """Remove and return every message on a queue as (headers, positional args)."""
    taken = []
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        while (message := channel.basic_get(queue, no_ack=True)) is not None:
            args, _kwargs, _embed = message.decode()
            taken.append((message.headers, args))
    return taken


def celery_app_for(settings: Settings, clock: ManualClock) -> Iterator[Celery]:
    """A clarion app on memory:// whose tasks use these settings' database and the clock, with empty queues."""
    app = worker_app.make_celery(settings)
    install_context(app, WorkerContext.from_settings(settings, clock=clock, clients=NotificationProviderClients([])))
    app.tasks  # noqa: B018  (finalize: registers the tasks)
    for queue in ALL_QUEUES:
        take_messages(app, queue)
    yield app
    for queue in ALL_QUEUES:
        take_messages(app, queue)


@pytest.fixture
def celery_app(settings: Settings, sessions: sessionmaker[Session], clock: ManualClock) -> Iterator[Celery]:
    """A clarion app on memory:// for the test database and clock."""
    yield from celery_app_for(settings, clock)
