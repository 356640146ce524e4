"""A real Celery worker on a real broker (the embedded filesystem one, and Redis) delivers a batch."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.config import Settings
from clarion.worker import dispatch
from clarion.worker.app import make_celery
from clarion.worker.context import WorkerContext, install_context
from tests.conftest import TEST_SECRET, require_server
from tests.unit.delivery.factory import AddNotification, add_notification, load  # noqa: F401  (fixture)

REDIS_BROKER = "redis://127.0.0.1:6379/11"


@pytest.fixture(params=["filesystem", "redis"])
def broker_app(request: pytest.FixtureRequest, database_url: str, tmp_path: Path,
               clock: ManualClock) -> Iterator[Celery]:
    """A clarion app on a real broker, its tasks using the test database."""
    if request.param == "filesystem":
        broker_url = f"filesystem://{tmp_path / 'broker'}"
    else:
        require_server("Redis", "127.0.0.1", 6379)
        broker_url = REDIS_BROKER
    settings = Settings(environment="test", database_url=database_url, broker_url=broker_url,
                        secret_key=TEST_SECRET)
    app = make_celery(settings)
    prefix = f"clarion-test-{uuid.uuid4().hex[:8]}:"
    if request.param == "redis":  # parallel test runs share the server: keep each run's queues apart
        app.conf.broker_transport_options = {"global_keyprefix": prefix}
    install_context(app, WorkerContext.from_settings(settings, clock=clock))
    yield app
    if request.param == "redis":
        client = redis.Redis.from_url(REDIS_BROKER)
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)


def test_a_batch_of_test_key_notifications_is_delivered_through_the_broker(
        broker_app: Celery, add_notification: AddNotification, sessions: sessionmaker[Session]) -> None:
    sms = [add_notification() for _ in range(20)]
    emails = [add_notification(notification_type="email") for _ in range(5)]
    with start_worker(broker_app, pool="threads", concurrency=4, perform_ping_check=False, loglevel="WARNING"):
        for batch in dispatch.chunked(sms, 8):
            dispatch.enqueue_delivery(broker_app, "sms", batch)
        dispatch.enqueue_delivery(broker_app, "email", emails)
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while True:  # a real worker is running: poll the database, bounded
            statuses = {load(sessions, i).status for i in sms + emails}
            if statuses == {"delivered"} or datetime.now(UTC) > deadline:
                break
            time.sleep(0.05)  # leave the worker's threads the interpreter between polls
    assert statuses == {"delivered"}
