"""Posts delivery receipts when they fall due, over one pooled HTTP session, retrying like a provider.

Receipts wait in one heap ordered by due time, behind a single event-loop timer set for the earliest
one, so thousands of waiting receipts cost no task or timer each. A receipt whose POST fails with a
refused connection, a timeout, a 429 or a 5xx is tried again after each of `retry_delays_s` in turn,
then given up and counted; any other 4xx is given up at once (it would be refused again).
Due times come from the injected clock, so tests move a ManualClock and call `run_due`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import itertools
import logging
from collections.abc import Sequence
from typing import Generic, TypeVar

import aiohttp

from clarion.clock import Clock
from clarion.sandbox.receipts import ReceiptPost, basic_authorization
from clarion.sandbox.stats import Stats

__all__ = ["DEFAULT_RETRY_DELAYS_S", "DueQueue", "ReceiptScheduler"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_RETRY_DELAYS_S = (1.0, 5.0, 30.0, 120.0)
RECEIPT_TIMEOUT_S = 10.0
RECEIPT_CONNECTIONS = 64


class DueQueue(Generic[T]):
    """Items ordered by due time; items due at the same time keep their order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, T]] = []
        self._order = itertools.count()

    def push(self, item: T, due: float) -> None:
        """Add `item`, due at monotonic time `due`."""
        heapq.heappush(self._heap, (due, next(self._order), item))

    def next_due(self) -> float | None:
        """When the earliest item is due, or None if there is none."""
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[T]:
        """Remove and return every item due at or before `now`, earliest first."""
        due: list[T] = []
        while self._heap and self._heap[0][0] <= now:
            due.append(heapq.heappop(self._heap)[2])
        return due

    def __len__(self) -> int:
        return len(self._heap)


class ReceiptScheduler:
    """Holds receipts until they are due, then posts them; must be started on the event loop it serves."""

    def __init__(self, *, clock: Clock, stats: Stats, retry_delays_s: Sequence[float] = DEFAULT_RETRY_DELAYS_S,
                 timeout_s: float = RECEIPT_TIMEOUT_S, connections: int = RECEIPT_CONNECTIONS) -> None:
        self._clock, self._stats = clock, stats
        self._retry_delays_s = tuple(retry_delays_s)
        self._timeout_s, self._connections = timeout_s, connections
        self._queue: DueQueue[ReceiptPost] = DueQueue()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the pooled session on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._connections),
            timeout=aiohttp.ClientTimeout(total=self._timeout_s),
            headers={"User-Agent": "clarion-sandbox"})

    async def close(self) -> None:
        """Stop posting: receipts not yet posted are dropped (and logged as a count)."""
        if self._timer is not None:
            self._timer.cancel()
        if self.pending:
            logger.info("dropping receipts not yet posted", extra={"receipts": self.pending})
        for task in list(self._in_flight):
            task.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    @property
    def pending(self) -> int:
        """Receipts waiting or being posted."""
        return len(self._queue) + len(self._in_flight)

    def schedule(self, post: ReceiptPost, delay_s: float) -> None:
        """Post `post` `delay_s` seconds from now (on the injected clock)."""
        if post.attempt == 0:
            self._stats.of(post.provider).receipts_scheduled += 1
        self._queue.push(post, self._clock.monotonic() + delay_s)
        self._arm()

    def run_due(self) -> int:
        """Start posting every receipt that is due now; how many were started."""
        assert self._loop is not None, "start() the scheduler first"
        due = self._queue.pop_due(self._clock.monotonic())
        for post in due:
            task = self._loop.create_task(self._deliver(post))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(due)

    def _arm(self) -> None:
        due = self._queue.next_due()
        if due is None or self._loop is None:
            return
        if self._timer is not None:
            if self._timer_due <= due:
                return  # the timer already wakes up in time for this one
            self._timer.cancel()
        self._timer_due = due
        self._timer = self._loop.call_later(max(0.0, due - self._clock.monotonic()), self._fire)

    def _fire(self) -> None:
        self._timer = None
        self.run_due()
        self._arm()

    async def _deliver(self, post: ReceiptPost) -> None:
        stats = self._stats.of(post.provider)
        status = await self._post(post)
        if status is not None and 200 <= status < 300:
            stats.receipts_sent += 1
        elif _worth_retrying(status) and post.attempt < len(self._retry_delays_s):
            stats.receipts_retried += 1
            self.schedule(dataclasses.replace(post, attempt=post.attempt + 1), self._retry_delays_s[post.attempt])
            return
        else:
            stats.receipts_failed += 1
            logger.warning("gave up posting a receipt", extra={
                "provider_name": post.provider, "url": post.target.url, "status": status,
                "attempts": post.attempt + 1})
        if post.then is not None:
            self.schedule(post.then, 0.0)

    async def _post(self, post: ReceiptPost) -> int | None:
        """The receiver's HTTP status, or None if there was no answer."""
        assert self._session is not None, "start() the scheduler first"
        headers = post.headers
        if post.target.auth is not None:
            headers = {**headers, "Authorization": basic_authorization(*post.target.auth)}
        try:
            async with self._session.post(post.target.url, data=post.body, headers=headers) as reply:
                await reply.read()
                return reply.status
        except (aiohttp.ClientError, TimeoutError) as error:
            logger.debug("receipt post failed", extra={"provider_name": post.provider, "error": repr(error)})
            return None


def _worth_retrying(status: int | None) -> bool:
    return status is None or status == 429 or status >= 500
