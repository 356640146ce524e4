"""The per-service token bucket, on every backend: Notify's sizes and refill, with injected time."""

from __future__ import annotations

import asyncio
import math
import uuid

import pytest

from clarion.limits import Limits, rules
from tests.conftest import START

pytestmark = pytest.mark.parametrize(
    ("backend", "database_url"), [("database", "sqlite"), ("database", "postgresql"), ("redis", "sqlite")],
    ids=["sqlite", "postgresql", "redis"], indirect=["database_url"],
)

T0 = START.timestamp()


async def take_many(limits: Limits, service: uuid.UUID, count: int, *, rate: int, now: float,
                    key_type: str = "normal") -> list[bool]:
    """Take `count` tokens one after another, all at the same instant."""
    return [await limits.take_token(service, key_type, rate_per_minute=rate, now=now) for _ in range(count)]


async def empty_bucket(limits: Limits, service: uuid.UUID, *, rate: int, now: float) -> None:
    """Use up a fresh bucket."""
    assert all(await take_many(limits, service, rules.bucket_max(rate), rate=rate, now=now))


@pytest.mark.parametrize(("rate", "full"), [(30, 11), (3000, 1000)])
def test_a_full_bucket_allows_bucket_max_requests_then_refuses(open_limits, service_id: uuid.UUID, rate: int,
                                                               full: int) -> None:
    async def scenario() -> list[bool]:
        async with open_limits() as limits:
            return await take_many(limits, service_id, full + 2, rate=rate, now=T0)

    assert asyncio.run(scenario()) == [True] * full + [False, False]


@pytest.mark.parametrize(("rate", "seconds"), [(30, 4), (30, 7), (30, 1000), (100, 3), (100, 0.5), (600, 2)])
def test_a_refill_after_n_seconds_allows_floor_n_times_rate_more_up_to_bucket_max(
        open_limits, service_id: uuid.UUID, rate: int, seconds: float) -> None:
    expected = min(math.floor(seconds * rate / 60), rules.bucket_max(rate))

    async def scenario() -> list[bool]:
        async with open_limits() as limits:
            await empty_bucket(limits, service_id, rate=rate, now=T0)
            return await take_many(limits, service_id, expected + 1, rate=rate, now=T0 + seconds)

    assert asyncio.run(scenario()) == [True] * expected + [False]


def test_a_refused_request_does_not_lose_the_part_token_already_refilled(open_limits,
                                                                         service_id: uuid.UUID) -> None:
    async def scenario() -> list[bool]:
        async with open_limits() as limits:
            await empty_bucket(limits, service_id, rate=30, now=T0)   # refills half a token a second
            return [await limits.take_token(service_id, "normal", rate_per_minute=30, now=T0 + seconds)
                    for seconds in (1, 2, 3, 4)]

    assert asyncio.run(scenario()) == [False, True, False, True]


def test_a_clock_that_steps_back_neither_adds_nor_drains_tokens(open_limits, service_id: uuid.UUID) -> None:
    async def scenario() -> list[bool]:
        async with open_limits() as limits:
            await empty_bucket(limits, service_id, rate=30, now=T0)
            earlier = await take_many(limits, service_id, 1, rate=30, now=T0 - 60)
            later = await take_many(limits, service_id, 2, rate=30, now=T0 + 2)
            return earlier + later

    assert asyncio.run(scenario()) == [False, True, False]


def test_each_service_and_key_type_has_its_own_bucket(open_limits, service_id: uuid.UUID,
                                                      other_service_id: uuid.UUID) -> None:
    async def scenario() -> dict[str, list[bool]]:
        async with open_limits() as limits:
            await empty_bucket(limits, service_id, rate=30, now=T0)
            return {
                "normal": await take_many(limits, service_id, 1, rate=30, now=T0),
                "team": await take_many(limits, service_id, 11, rate=30, now=T0, key_type="team"),
                "test": await take_many(limits, service_id, 11, rate=30, now=T0, key_type="test"),
                "other service": await take_many(limits, other_service_id, 11, rate=30, now=T0),
            }

    assert asyncio.run(scenario()) == {
        "normal": [False], "team": [True] * 11, "test": [True] * 11, "other service": [True] * 11,
    }


def test_a_bucket_is_shared_by_every_process(open_limits, service_id: uuid.UUID) -> None:
    async def scenario() -> list[bool]:
        async with open_limits() as first, open_limits() as second:
            await take_many(first, service_id, 6, rate=30, now=T0)
            return await take_many(second, service_id, 6, rate=30, now=T0)

    assert asyncio.run(scenario()) == [True] * 5 + [False]


def test_a_rate_of_zero_refuses_every_request(open_limits, service_id: uuid.UUID) -> None:
    async def scenario() -> list[bool]:
        async with open_limits() as limits:
            return await take_many(limits, service_id, 2, rate=0, now=T0)

    assert asyncio.run(scenario()) == [False, False]
