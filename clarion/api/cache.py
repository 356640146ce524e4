"""A short-lived in-process cache for the API's hot path: services with their keys, and templates.

Entries live `ttl_s` seconds (`CACHE_TTL_S`, default 2 s) by the injected clock's monotonic time, so
a change made through the operator API or the CLI (a revoked key, an edited template, a new guest)
is seen by every API process within that time. Concurrent misses for one key share a single load.
"Not found" is cached too, so a flood of requests for an unknown service costs one query per TTL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from clarion.clock import Clock

__all__ = ["TtlCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values by key for `ttl_s` seconds, loaded once however many callers ask at the same time."""

    def __init__(self, *, ttl_s: float, clock: Clock, max_entries: int = 10_000) -> None:
        self.ttl_s, self._clock, self.max_entries = ttl_s, clock, max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The cached value for `key`, or the result of `load()` (kept for ttl_s)."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] > self._clock.monotonic():
            return entry[1]
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._fill(key, load))
            self._loading[key] = pending
        # shield: one caller giving up (a dropped connection) must not cancel the others' load
        return await asyncio.shield(pending)

    async def _fill(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await load()
        finally:
            self._loading.pop(key, None)
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # crude but bounded: a refill costs one query per key
        self._entries[key] = (self._clock.monotonic() + self.ttl_s, value)
        return value

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()
