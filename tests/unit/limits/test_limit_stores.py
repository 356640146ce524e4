"""What each backend stores: Notify's keys, expiries an operator can see, clean-up, and Redis outages."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from datetime import date

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from clarion.db.engine import make_async_engine
from clarion.db.models import LimitCounter
from clarion.limits import DatabaseLimits, RedisLimits, make_limits, rules
from clarion.limits.database_store import purge_statement
from tests.conftest import START

T0 = START.timestamp()
TODAY = date(2026, 1, 5)


def daily_key(service: uuid.UUID) -> str:
    """Notify's key for a service's text messages on TODAY."""
    return f"{service}-sms-2026-01-05-count"


def bucket_key(service: uuid.UUID) -> str:
    """Notify's key for a service's live-key bucket."""
    return f"{service}-tokens-normal"


async def database_rows(engine: AsyncEngine) -> dict[str, tuple[float, float]]:
    """Every limit_counters row, as key -> (value, stamp)."""
    async with engine.connect() as connection:
        rows = await connection.execute(select(LimitCounter.key, LimitCounter.value, LimitCounter.stamp))
        return {key: (value, stamp) for key, value, stamp in rows}


def test_the_database_keeps_notifys_keys_with_tokens_counts_and_stamps(database_url: str, service_id: uuid.UUID) -> None:
    async def scenario() -> dict[str, tuple[float, float]]:
        engine = make_async_engine(database_url)
        limits = DatabaseLimits(engine)
        await limits.take_token(service_id, "normal", rate_per_minute=30, now=T0)
        for _ in range(3):
            await limits.reserve_daily(service_id, "normal", "sms", limit=2, day=TODAY)
        rows = await database_rows(engine)
        await engine.dispose()
        return rows

    assert asyncio.run(scenario()) == {bucket_key(service_id): (10.0, T0), daily_key(service_id): (2.0, rules.daily_expiry(TODAY))}


def test_purging_deletes_spent_daily_counts_and_long_idle_buckets_only(database_url: str, service_id: uuid.UUID) -> None:
    yesterday, today = date(2026, 1, 4), TODAY
    now = rules.daily_expiry(yesterday) + 1           # yesterday's counter has just expired

    async def scenario() -> tuple[int, set[str]]:
        engine = make_async_engine(database_url)
        limits = DatabaseLimits(engine)
        for day in (yesterday, today):
            await limits.reserve_daily(service_id, "normal", "sms", limit=5, day=day)
        await limits.take_token(service_id, "normal", rate_per_minute=30, now=now - 3601)
        await limits.take_token(service_id, "team", rate_per_minute=30, now=now - 60)
        async with engine.begin() as connection:  # what the scheduler's hourly purge runs
            purged = (await connection.execute(purge_statement(now))).rowcount
        kept = set(await database_rows(engine))
        await engine.dispose()
        return purged, kept

    assert asyncio.run(scenario()) == (2, {daily_key(service_id), f"{service_id}-tokens-team"})


def test_redis_keeps_notifys_keys_and_lets_them_expire(limits_redis_url: str, service_id: uuid.UUID) -> None:
    async def scenario() -> None:
        limits = RedisLimits.from_url(limits_redis_url)
        await limits.take_token(service_id, "normal", rate_per_minute=30, now=T0)
        await limits.reserve_daily(service_id, "normal", "sms", limit=2, day=TODAY)
        await limits.close()

    asyncio.run(scenario())
    client = redis.Redis.from_url(limits_redis_url)
    assert client.get(daily_key(service_id)) == b"1"
    assert 86_300 < client.ttl(daily_key(service_id)) <= 86_400
    assert {field: float(value) for field, value in client.hgetall(bucket_key(service_id)).items()} == {
        b"tokens": 10.0, b"stamp": T0}
    assert 0 < client.ttl(bucket_key(service_id)) <= rules.seconds_to_fill(30) + 60
    client.close()


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_when_redis_is_down_requests_are_allowed_and_logged(caplog: pytest.LogCaptureFixture, service_id: uuid.UUID) -> None:
    async def scenario() -> list[bool]:
        limits = RedisLimits.from_url(f"redis://127.0.0.1:{closed_port()}/0", timeout_s=0.2)
        results = [await limits.take_token(service_id, "normal", rate_per_minute=30, now=T0),
                   await limits.reserve_daily(service_id, "normal", "sms", limit=1, day=TODAY)]
        await limits.close()
        return results

    with caplog.at_level(logging.WARNING, logger="clarion.limits"):
        assert asyncio.run(scenario()) == [True, True]
    assert [record.limit_key for record in caplog.records] == [bucket_key(service_id), daily_key(service_id)]


def test_make_limits_prefers_redis_then_the_database(sqlite_url: str) -> None:
    engine = make_async_engine(sqlite_url)
    assert isinstance(make_limits(redis_url="redis://127.0.0.1:6379/15", engine=engine), RedisLimits)
    assert isinstance(make_limits(redis_url=None, engine=engine), DatabaseLimits)
    with pytest.raises(ValueError, match="REDIS_URL or a database engine"):
        make_limits(redis_url=None, engine=None)
    asyncio.run(engine.dispose())
