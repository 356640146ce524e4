"""Hands accepted notification ids to the delivery queues in batches, off the event loop.

A Celery message costs about a millisecond of client CPU (reference/performance.md), far more than
the INSERT before it, so ids are collected per notification type and flushed every `interval_s`
(25 ms) or as soon as `max_batch` (200) are waiting: one message then carries many ids. Sending runs
in a thread (`asyncio.to_thread`) because the Celery client blocks.

The notification is already committed when its id arrives here. If sending fails the error is
logged and nothing else happens: the scheduler's sweeper re-queues anything still `created` after
REQUEUE_CREATED_AFTER_S (an hour by default), so no notification is lost. A provider's receipt has
no such safety net, so the receipt endpoints use `submit`, which waits for the batch to be queued and
raises if it was not: the endpoint then answers 503 and the provider sends the receipt again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

__all__ = ["EnqueueBatcher"]

log = logging.getLogger(__name__)

Send = Callable[[str, list[Any]], None]  # (key, items) -> None; blocking. Keys: notification types, or receipt kinds


class EnqueueBatcher:
    """Collects ids per notification type and sends each type's batch as one queue message."""

    def __init__(self, send: Send, *, interval_s: float = 0.025, max_batch: int = 200) -> None:
        self._send, self.interval_s, self.max_batch = send, interval_s, max_batch
        self._pending: dict[str, list[Any]] = {}
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}  # callers of `submit` per pending batch
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self.sent_batches = 0  # how many messages went out; for tests and metrics

    def add(self, notification_type: str, notification_id: uuid.UUID | str | dict[str, Any]) -> None:
        """Queue one id (or one JSON-able item, such as a receipt) to be sent soon; never blocks or raises."""
        batch = self._pending.setdefault(notification_type, [])
        batch.append(notification_id if isinstance(notification_id, dict) else str(notification_id))
        if len(batch) >= self.max_batch:
            self._start_flush({notification_type: self._pending.pop(notification_type)},
                              {notification_type: self._waiters.pop(notification_type, [])})
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.interval_s, self._on_timer)

    async def submit(self, key: str, item: dict[str, Any]) -> None:
        """Queue one item and wait until its batch is on the queue; raises if that failed.

        For what nothing else would recover (a provider's receipt): the caller answers only once the
        item is safely queued, and otherwise asks its sender to try again.
        """
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(key, []).append(waiter)
        self.add(key, item)
        await waiter

    def _on_timer(self) -> None:
        self._timer = None
        if self._pending:
            pending, self._pending = self._pending, {}
            waiters, self._waiters = self._waiters, {}
            self._start_flush(pending, waiters)

    def _start_flush(self, batches: dict[str, list[Any]], waiters: dict[str, list[asyncio.Future[None]]]) -> None:
        task = asyncio.get_running_loop().create_task(self._flush(batches, waiters))
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush(self, batches: dict[str, list[Any]], waiters: dict[str, list[asyncio.Future[None]]]) -> None:
        for notification_type, ids in batches.items():
            error: Exception | None = None
            try:
                await asyncio.to_thread(self._send, notification_type, ids)
                self.sent_batches += 1
            except Exception as exc:
                error = exc
                log.exception("could not queue a batch", extra={
                    "notification_type": notification_type, "count": len(ids),
                    "waiting_callers": len(waiters.get(notification_type, ()))})
            for waiter in waiters.get(notification_type, ()):
                if not waiter.done():
                    waiter.set_exception(error) if error else waiter.set_result(None)

    async def close(self) -> None:
        """Send whatever is waiting and wait for sends in flight."""
        if self._timer is not None:
            self._timer.cancel()
        self._on_timer()
        if self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)


def celery_sender(celery_app: Any) -> Send:
    """A `Send` that puts one message carrying the ids on the channel's delivery queue."""
    from clarion.worker import dispatch

    def send(notification_type: str, ids: list[str]) -> None:
        dispatch.enqueue_delivery(celery_app, notification_type, ids)

    return send
