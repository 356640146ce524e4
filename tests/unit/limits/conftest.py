"""Limits tests run against every backend: the database on SQLite and on PostgreSQL, and Redis.

A test module opts in with a module-level parametrize over (backend, database_url) (spelled out in
each module, since conftest modules are not imported by name), then asks for `open_limits`: each call
opens a fresh `Limits` with its own engine or Redis client, as a separate API process would, and
closes it on exit. Service ids are fresh for each test, so tests in parallel workers never share a
Redis key; each test deletes its own keys afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
import redis
from redis.connection import parse_url

from clarion.db.engine import make_async_engine
from clarion.limits import Limits, make_limits
from tests.conftest import REDIS_URL, require_server

REDIS_TEST_DB = 15  # a database of its own, away from the queue's

OpenLimits = Callable[[], AbstractAsyncContextManager[Limits]]


@pytest.fixture
def service_id() -> uuid.UUID:
    """A service id no other test uses."""
    return uuid.uuid4()


@pytest.fixture
def other_service_id() -> uuid.UUID:
    """A second service id no other test uses."""
    return uuid.uuid4()


@pytest.fixture
def limits_redis_url(service_id: uuid.UUID, other_service_id: uuid.UUID) -> Iterator[str]:
    """Redis for limits tests, cleaned of this test's keys; skips (or fails under CI) when Redis is down."""
    options = parse_url(REDIS_URL)
    require_server("Redis", options.get("host", "127.0.0.1"), options.get("port", 6379))
    url = REDIS_URL.rsplit("/", 1)[0] + f"/{REDIS_TEST_DB}"
    yield url
    with redis.Redis.from_url(url) as client:
        for service in (service_id, other_service_id):
            for key in client.scan_iter(match=f"{service}-*"):
                client.delete(key)


@pytest.fixture
def open_limits(backend: str, database_url: str, request: pytest.FixtureRequest) -> OpenLimits:
    """Open `Limits` on this test's backend; every call gets its own connections."""
    # The Redis cases get an SQLite database too (it is cheap); they never touch it.
    redis_url = request.getfixturevalue("limits_redis_url") if backend == "redis" else None

    @asynccontextmanager
    async def opened() -> AsyncIterator[Limits]:
        engine = None if redis_url else make_async_engine(database_url)
        limits = make_limits(redis_url=redis_url, engine=engine)
        try:
            yield limits
        finally:
            await limits.close()
            if engine is not None:
                await engine.dispose()

    return opened
