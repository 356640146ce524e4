"""RedisLimits shares round trips between concurrent calls; each call still counts exactly once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import redis

from clarion.limits import RedisLimits

DAY = date(2026, 1, 5)


def test_concurrent_calls_share_pipelines_and_each_counts_once(limits_redis_url: str, service_id: uuid.UUID) -> None:
    async def body() -> list[bool]:
        limits = RedisLimits.from_url(limits_redis_url)
        try:
            return await asyncio.gather(*(limits.reserve_daily(service_id, "normal", "sms", limit=25, day=DAY)
                                          for _ in range(40)))
        finally:
            await limits.close()

    assert asyncio.run(body()).count(True) == 25


def test_scripts_flushed_from_redis_are_loaded_again(limits_redis_url: str, service_id: uuid.UUID) -> None:
    async def body() -> tuple[list[bool], list[bool]]:
        limits = RedisLimits.from_url(limits_redis_url)
        try:
            redis.Redis.from_url(limits_redis_url).script_flush()  # as after a Redis restart
            lone = [await limits.take_token(service_id, "normal", rate_per_minute=30, now=1_000.0)]
            redis.Redis.from_url(limits_redis_url).script_flush()
            together = await asyncio.gather(*(limits.take_token(service_id, "normal", rate_per_minute=30, now=1_000.0)
                                              for _ in range(14)))
            return lone, together
        finally:
            await limits.close()

    lone, together = asyncio.run(body())
    assert lone == [True]
    assert together.count(True) == 10  # a full bucket of 30/min holds 11 tokens; the lone call took one


def test_an_unreachable_redis_allows_every_waiting_call(service_id: uuid.UUID) -> None:
    async def body() -> list[bool]:
        limits = RedisLimits.from_url("redis://127.0.0.1:1/0", timeout_s=0.2)
        try:
            return await asyncio.gather(*(limits.take_token(service_id, "normal", rate_per_minute=30, now=1_000.0)
                                          for _ in range(5)))
        finally:
            await limits.close()

    assert asyncio.run(body()) == [True] * 5
