"""Per-service API rate limits (token buckets) and daily send limits, in Redis or the database.

Notify's rules (brief §7.6): a bucket per service and key type, key "{service_id}-tokens-{key_type}",
holding min(ceil(rate/3)+1, 1000) tokens, starting full and refilling rate/60 tokens a second; a
request is refused when fewer than one token is left. A daily counter per service and channel, key
"{service_id}-{channel}-{YYYY-MM-DD}-count" ("{service_id}-test-{channel}-…" for test keys), kept
24 h; a message is refused when count + 1 > limit.

Deviation on purpose: Notify checks the daily count, then increments it later in a separate step, so
concurrent requests can all pass the check and exceed the limit. clarion reserves atomically (check
and increment in one step), so the limit is never exceeded, however many API processes there are.
Tokens are kept as fractions rather than Notify's whole numbers, so no refill is lost to rounding.
A rate or limit below one refuses everything without touching storage.

Time is passed in (`now`, `day`); nothing here reads a clock. No state lives in process memory.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from clarion.limits import rules
from clarion.limits.database_store import DatabaseLimits
from clarion.limits.redis_store import RedisLimits

__all__ = ["DatabaseLimits", "Limits", "RedisLimits", "make_limits", "rules"]


class Limits(Protocol):
    """Where rate-limit buckets and daily counters live; every call is atomic across processes."""

    async def take_token(self, service_id: uuid.UUID, key_type: str, *, rate_per_minute: int,
                         now: float) -> bool:
        """Take one token from the service's bucket for this key type; False when empty (refuse with 429)."""
        ...

    async def reserve_daily(self, service_id: uuid.UUID, key_type: str, channel: str, *, limit: int,
                            day: date) -> bool:
        """Count one message against today's limit for channel; False (and count nothing) when count+1 > limit."""
        ...

    async def close(self) -> None:
        """Release connections this object opened."""
        ...


def make_limits(*, redis_url: str | None, engine: AsyncEngine | None) -> Limits:
    """Redis when a URL is given (shared by every process), else the database behind `engine`."""
    if redis_url:
        return RedisLimits.from_url(redis_url)
    if engine is not None:
        return DatabaseLimits(engine)
    raise ValueError("limits need REDIS_URL or a database engine")
