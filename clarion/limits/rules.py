"""Notify's limit arithmetic (brief §7.6): the storage keys, the bucket size and refill, the daily expiry.

Both backends use these, so a Redis deployment and a database deployment count the same way and a
Notify operator finds the keys they know.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime, time, timedelta

DAILY_TTL_S = 86_400  # Notify's daily counters live 24 h
BUCKET_CAP = 1_000  # no bucket holds more than this many tokens
# Fractions of a token come from repeated float refills (100 per minute is 1.666… per second); a
# bucket within this much of one token counts as holding one, so rounding never costs a request.
TOKEN_EPSILON = 1e-9


def bucket_key(service_id: uuid.UUID, key_type: str) -> str:
    """The key of a service's token bucket for one API key type."""
    return f"{service_id}-tokens-{key_type}"


def daily_key(service_id: uuid.UUID, key_type: str, channel: str, day: date) -> str:
    """The key of a service's message count for one channel and day; test keys count apart."""
    test = "test-" if key_type == "test" else ""
    return f"{service_id}-{test}{channel}-{day.isoformat()}-count"


def bucket_max(rate_per_minute: int) -> int:
    """How many tokens a full bucket holds: a third of a minute's allowance plus one, at most 1000."""
    return min(math.ceil(rate_per_minute / 3) + 1, BUCKET_CAP)


def refill_per_second(rate_per_minute: int) -> float:
    """Tokens added to a bucket each second."""
    return rate_per_minute / 60


def seconds_to_fill(rate_per_minute: int) -> int:
    """An upper bound on how long an empty bucket takes to fill; an idle bucket older than this is full."""
    return math.ceil(bucket_max(rate_per_minute) / refill_per_second(rate_per_minute))


def daily_expiry(day: date) -> float:
    """When a day's counter may be forgotten (epoch s): 24 h after the day ends (UTC)."""
    day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)
    return day_end.timestamp() + DAILY_TTL_S
