"""Daily send limits, on every backend: exactly `limit` messages a day, never more, even under load."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from datetime import date, timedelta

import pytest

from clarion.limits import Limits

pytestmark = pytest.mark.parametrize(
    ("backend", "database_url"), [("database", "sqlite"), ("database", "postgresql"), ("redis", "sqlite")],
    ids=["sqlite", "postgresql", "redis"], indirect=["database_url"],
)

TODAY = date(2026, 1, 5)


async def reserve_many(limits: Limits, service: uuid.UUID, count: int, *, limit: int, key_type: str = "normal",
                       channel: str = "sms", day: date = TODAY) -> list[bool]:
    """Reserve `count` messages one after another."""
    return [await limits.reserve_daily(service, key_type, channel, limit=limit, day=day) for _ in range(count)]


def test_the_daily_limit_allows_exactly_limit_messages_then_refuses(open_limits, service_id: uuid.UUID) -> None:
    async def scenario() -> list[bool]:
        async with open_limits() as limits:
            return await reserve_many(limits, service_id, 7, limit=5)

    assert asyncio.run(scenario()) == [True] * 5 + [False, False]


def test_a_refused_message_counts_nothing(open_limits, service_id: uuid.UUID) -> None:
    async def scenario() -> list[bool]:
        async with open_limits() as limits:
            await reserve_many(limits, service_id, 8, limit=3)          # 3 counted, 5 refused
            return await reserve_many(limits, service_id, 2, limit=4)   # the service's limit goes up by one

    assert asyncio.run(scenario()) == [True, False]


def test_the_next_day_starts_again(open_limits, service_id: uuid.UUID) -> None:
    async def scenario() -> list[bool]:
        async with open_limits() as limits:
            await reserve_many(limits, service_id, 3, limit=3)
            return await reserve_many(limits, service_id, 4, limit=3, day=TODAY + timedelta(days=1))

    assert asyncio.run(scenario()) == [True] * 3 + [False]


def test_test_keys_are_counted_apart_and_team_keys_with_live_ones(open_limits, service_id: uuid.UUID) -> None:
    async def scenario() -> dict[str, list[bool]]:
        async with open_limits() as limits:
            await reserve_many(limits, service_id, 2, limit=3, key_type="normal")
            return {
                "team": await reserve_many(limits, service_id, 2, limit=3, key_type="team"),
                "test": await reserve_many(limits, service_id, 4, limit=3, key_type="test"),
            }

    assert asyncio.run(scenario()) == {"team": [True, False], "test": [True] * 3 + [False]}


def test_each_channel_and_service_has_its_own_count(open_limits, service_id: uuid.UUID,
                                                    other_service_id: uuid.UUID) -> None:
    async def scenario() -> dict[str, list[bool]]:
        async with open_limits() as limits:
            await reserve_many(limits, service_id, 2, limit=2)
            return {
                "sms": await reserve_many(limits, service_id, 1, limit=2),
                "international_sms": await reserve_many(limits, service_id, 2, limit=2, channel="international_sms"),
                "email": await reserve_many(limits, service_id, 2, limit=2, channel="email"),
                "letter": await reserve_many(limits, service_id, 2, limit=2, channel="letter"),
                "other service": await reserve_many(limits, other_service_id, 2, limit=2),
            }

    assert asyncio.run(scenario()) == {"sms": [False], "international_sms": [True, True], "email": [True, True],
                                       "letter": [True, True], "other service": [True, True]}


def test_50_concurrent_reservations_from_5_processes_against_a_limit_of_20_reserve_exactly_20(
        open_limits, service_id: uuid.UUID) -> None:
    async def reserve_from(limits: Limits) -> list[bool]:
        calls = [limits.reserve_daily(service_id, "normal", "sms", limit=20, day=TODAY) for _ in range(10)]
        return list(await asyncio.gather(*calls))

    async def scenario() -> tuple[list[bool], list[bool]]:
        async with AsyncExitStack() as stack:
            processes = [await stack.enter_async_context(open_limits()) for _ in range(5)]
            results = await asyncio.gather(*(reserve_from(limits) for limits in processes))
            return [ok for batch in results for ok in batch], await reserve_many(processes[0], service_id, 1,
                                                                                 limit=21)

    concurrent, afterwards = asyncio.run(scenario())
    assert concurrent.count(True) == 20
    assert afterwards == [True]   # exactly 20 were counted, so a limit of 21 has room for one more


def test_a_limit_of_zero_refuses_every_message(open_limits, service_id: uuid.UUID) -> None:
    async def scenario() -> list[bool]:
        async with open_limits() as limits:
            return await reserve_many(limits, service_id, 2, limit=0)

    assert asyncio.run(scenario()) == [False, False]
