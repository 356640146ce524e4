"""Limits kept in Redis, shared by any number of API processes and machines.

Each call runs one Lua script (EVALSHA: one round trip), and Redis runs scripts one at a time, so
checking and counting are one atomic step. A bucket is a hash {tokens, stamp} that expires once it
would be full again anyway; a daily counter is a string that expires 24 h after its first message.

As in Notify, a Redis failure lets the request through (logged): an outage of the limit store should
not stop a service from sending.

One round trip at a time per process: a call made while none is under way goes straight out; calls
made during one wait for it, then go out together as one pipeline (one write, one reply read, one
wake-up of Redis for all of them). Batches so form by themselves under load, and a lone call pays
nothing extra. Each script still runs atomically on its own; only the round trip is shared.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import uuid
from datetime import date
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

from clarion.limits import rules

__all__ = ["RedisLimits"]

logger = logging.getLogger(__name__)
TTL_MARGIN_S = 60  # Redis times the TTL on its own clock, not the API's `now`; this absorbs the gap

# KEYS[1] bucket; ARGV: refill per second, bucket max, now (epoch s), ttl (s), epsilon.
TAKE_TOKEN = """
local per_second, full, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens, stamp = full, now
if state[1] then
  tokens, stamp = tonumber(state[1]), tonumber(state[2])
  tokens = math.min(full, tokens + math.max(0, now - stamp) * per_second)
  stamp = math.max(stamp, now)
end
if tokens < 1 - tonumber(ARGV[5]) then
  return 0
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens - 1), 'stamp', string.format('%.17g', stamp))
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""

# KEYS[1] counter; ARGV: limit, ttl (s).
RESERVE_DAILY = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count + 1 > tonumber(ARGV[1]) then
  return 0
end
if redis.call('INCR', KEYS[1]) == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


@functools.cache
def _sha1(script: str) -> str:
    """The digest EVALSHA names a script by (computed once per script)."""
    return hashlib.sha1(script.encode()).hexdigest()


class RedisLimits:
    """Rate and daily limits in Redis; atomic because each call is one Lua script."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._busy = False  # a round trip is under way
        self._queued: list[_Call] = []  # calls waiting for the next pipeline
        self._sending: set[asyncio.Task[None]] = set()

    @classmethod
    def from_url(cls, url: str, *, timeout_s: float = 1.0) -> RedisLimits:
        """Connect lazily to the Redis at `url`; calls give up (and allow) after `timeout_s`."""
        return cls(Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s))

    async def take_token(self, service_id: uuid.UUID, key_type: str, *, rate_per_minute: int,
                         now: float) -> bool:
        """Take one token from the service's bucket for this key type; False when empty."""
        if rate_per_minute <= 0:
            return False
        key = rules.bucket_key(service_id, key_type)
        args = [rules.refill_per_second(rate_per_minute), rules.bucket_max(rate_per_minute), now,
                rules.seconds_to_fill(rate_per_minute) + TTL_MARGIN_S, rules.TOKEN_EPSILON]
        return await self._run(TAKE_TOKEN, key, args)

    async def reserve_daily(self, service_id: uuid.UUID, key_type: str, channel: str, *, limit: int,
                            day: date) -> bool:
        """Count one message against the day's limit; False (counting nothing) when it would exceed it."""
        if limit < 1:
            return False
        key = rules.daily_key(service_id, key_type, channel, day)
        return await self._run(RESERVE_DAILY, key, [limit, rules.DAILY_TTL_S])

    async def close(self) -> None:
        """Wait for pipelines in flight, then close the connection pool."""
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
        await self._redis.aclose()

    async def _run(self, script: str, key: str, args: list[float | int]) -> bool:
        call = _Call(script, key, args)
        try:
            if self._busy:  # ride the next pipeline
                call.done = asyncio.get_running_loop().create_future()
                self._queued.append(call)
                # shield: a request that goes away must not cancel the pipeline under its neighbours
                reply = await asyncio.shield(call.done)
            else:
                self._busy = True
                try:
                    reply = await _settled(self._redis.execute_command(*call.evalsha()))
                    if isinstance(reply, NoScriptError):
                        reply = await _settled(self._redis.execute_command(*call.eval()))
                finally:
                    self._send_queued()
                if isinstance(reply, BaseException):
                    raise reply
            return bool(reply)
        except RedisError as error:
            logger.warning("limit store unavailable; allowing the request",
                           extra={"limit_key": key, "error": type(error).__name__})
            return True

    def _send_queued(self) -> None:
        """Send the calls that queued up during the last round trip, or mark the connection idle."""
        if not self._queued:
            self._busy = False
            return
        calls, self._queued = self._queued, []
        task = asyncio.get_running_loop().create_task(self._send(calls))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, calls: list[_Call]) -> None:
        try:
            try:
                pipeline = self._redis.pipeline(transaction=False)  # no MULTI: each script is atomic
                for call in calls:
                    pipeline.execute_command(*call.evalsha())
                replies: list[Any] = await pipeline.execute(raise_on_error=False)
            except Exception as error:  # the connection failed: every call in it gets the error
                replies = [error] * len(calls)
            for call, reply in zip(calls, replies, strict=True):
                if isinstance(reply, NoScriptError):  # first use, or Redis restarted / flushed its scripts
                    reply = await _settled(self._redis.execute_command(*call.eval()))
                if isinstance(reply, BaseException):
                    call.done.set_exception(reply)
                else:
                    call.done.set_result(reply)
        finally:
            for call in calls:  # cancelled (shutdown): nobody may wait forever
                if not call.done.done():
                    call.done.cancel()
            self._send_queued()


class _Call:
    """One script call waiting for its turn's pipeline."""

    __slots__ = ("script", "key", "args", "done")

    def __init__(self, script: str, key: str, args: list[float | int]) -> None:
        self.script, self.key, self.args = script, key, args
        self.done: asyncio.Future[Any]  # set only for a call that waits for a pipeline

    def evalsha(self) -> tuple[Any, ...]:
        return ("EVALSHA", _sha1(self.script), 1, self.key, *self.args)

    def eval(self) -> tuple[Any, ...]:
        return ("EVAL", self.script, 1, self.key, *self.args)


async def _settled(reply: Any) -> Any:
    """The awaited reply, or the exception it raised (as a pipeline with raise_on_error=False gives it)."""
    try:
        return await reply
    except Exception as error:
        return error
