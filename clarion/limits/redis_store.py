"""Limits kept in Redis, shared by any number of API processes and machines.

Each call runs one Lua script (EVALSHA: one round trip), and Redis runs scripts one at a time, so
checking and counting are one atomic step. A bucket is a hash {tokens, stamp} that expires once it
would be full again anyway; a daily counter is a string that expires 24 h after its first message.

As in Notify, a Redis failure lets the request through (logged): an outage of the limit store should
not stop a service from sending.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

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


class RedisLimits:
    """Rate and daily limits in Redis; atomic because each call is one Lua script."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._take_token = redis.register_script(TAKE_TOKEN)
        self._reserve_daily = redis.register_script(RESERVE_DAILY)

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
        return await self._run(self._take_token, key, args)

    async def reserve_daily(self, service_id: uuid.UUID, key_type: str, channel: str, *, limit: int,
                            day: date) -> bool:
        """Count one message against the day's limit; False (counting nothing) when it would exceed it."""
        if limit < 1:
            return False
        key = rules.daily_key(service_id, key_type, channel, day)
        return await self._run(self._reserve_daily, key, [limit, rules.DAILY_TTL_S])

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()

    async def _run(self, script: AsyncScript, key: str, args: list[float | int]) -> bool:
        try:
            return bool(await script(keys=[key], args=args))
        except RedisError as error:
            logger.warning("limit store unavailable; allowing the request",
                           extra={"limit_key": key, "error": type(error).__name__})
            return True
