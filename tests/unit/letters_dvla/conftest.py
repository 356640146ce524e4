"""Fixtures for the letter callback endpoint: the real API app on the test database, and letters in it."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

with warnings.catch_warnings():  # starlette suggests httpx2; httpx is what the project installs
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from clarion.api.app import create_app
from clarion.clock import ManualClock
from clarion.config import Settings
from clarion.worker.app import make_celery
from tests.unit.delivery.factory import add_notification  # noqa: F401  (fixture)


@pytest.fixture
def api_client(settings: Settings, clock: ManualClock, seeded: Any) -> Iterator[TestClient]:
    """The API app, running, with the seeded service in its database."""
    with TestClient(create_app(settings, clock=clock, celery_app=make_celery(settings))) as client:
        yield client
