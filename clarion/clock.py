"""Time, passed in: pure functions take `now: datetime`; objects that loop or measure take a Clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """A source of wall-clock time (timezone-aware UTC) and of monotonic time for durations."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Seconds from an arbitrary start; only differences mean anything."""
        return time.monotonic()


class ManualClock:
    """A clock that moves only when told to; tests and the simulator use it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start
        self._monotonic = 0.0

    def now(self) -> datetime:
        """The clock's current time."""
        return self._now

    def monotonic(self) -> float:
        """Seconds advanced since the clock was made."""
        return self._monotonic

    def advance(self, **delta: float) -> None:
        """Move the clock forward, e.g. `advance(seconds=61)`."""
        step = timedelta(**delta)
        if step < timedelta(0):
            raise ValueError("a clock never goes backwards")
        self._now += step
        self._monotonic += step.total_seconds()
