"""Receipt posting: due times on the injected clock, retries with backoff, giving up, follow-up receipts."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from clarion.clock import ManualClock
from clarion.sandbox.poster import DueQueue, ReceiptScheduler
from clarion.sandbox.receipts import ReceiptPost, ReceiptTarget
from clarion.sandbox.stats import Stats
from tests.unit.sandbox.harness import Receiver, basic_auth


def a_receipt(url: str, body: bytes = b"{}", **options: Any) -> ReceiptPost:
    return ReceiptPost("mmg", ReceiptTarget(url + "/notifications/sms/mmg", options.pop("auth", None)), body,
                       {"Content-Type": "application/json"}, **options)


def with_scheduler(clock: ManualClock, retry_delays_s: tuple[float, ...],
                   test: Callable[[ReceiptScheduler, Stats], Awaitable[None]]) -> Stats:
    """Run `test` with a started scheduler on a fresh loop; the counters afterwards."""
    stats = Stats(["mmg"])

    async def run() -> None:
        scheduler = ReceiptScheduler(clock=clock, stats=stats, retry_delays_s=retry_delays_s)
        await scheduler.start()
        try:
            await test(scheduler, stats)
        finally:
            await scheduler.close()

    asyncio.run(run())
    return stats


async def settled(scheduler: ReceiptScheduler, *, drained: bool = False) -> None:
    """Until nothing is being posted (what is due later stays queued), or with `drained` nothing is left."""
    for _ in range(1000):
        left = scheduler.pending if drained else len(scheduler._in_flight)
        if not left:
            return
        await asyncio.sleep(0.01)
    pytest.fail("receipts still in flight")


def test_items_come_out_in_due_order_and_only_when_due() -> None:
    queue: DueQueue[str] = DueQueue()
    queue.push("late", 10.0)
    queue.push("early", 1.0)
    queue.push("also early", 1.0)

    assert queue.pop_due(0.5) == []
    assert queue.pop_due(1.0) == ["early", "also early"]
    assert queue.next_due() == 10.0
    assert len(queue) == 1


def test_a_receipt_is_posted_only_once_its_delay_has_passed(clock: ManualClock, receiver: Receiver) -> None:
    async def test(scheduler: ReceiptScheduler, stats: Stats) -> None:
        scheduler.schedule(a_receipt(receiver.url, b'{"status": "3"}', auth=("notify", "pw")), 5.0)
        clock.advance(seconds=4)
        assert scheduler.run_due() == 0
        clock.advance(seconds=1)
        assert scheduler.run_due() == 1
        await settled(scheduler)

    stats = with_scheduler(clock, (), test)

    posted = receiver.next()
    assert (posted.path, posted.body) == ("/notifications/sms/mmg", b'{"status": "3"}')
    assert posted.headers["authorization"] == basic_auth("notify", "pw")
    assert (stats.of("mmg").receipts_scheduled, stats.of("mmg").receipts_sent) == (1, 1)


def test_a_refused_receipt_is_retried_after_each_backoff_delay(clock: ManualClock, receiver: Receiver) -> None:
    receiver.statuses.extend([503, 500])

    async def test(scheduler: ReceiptScheduler, stats: Stats) -> None:
        scheduler.schedule(a_receipt(receiver.url), 0.0)
        scheduler.run_due()
        await settled(scheduler)                      # 503: retry in 1 s
        assert stats.of("mmg").receipts_retried == 1
        assert scheduler.run_due() == 0
        clock.advance(seconds=1)
        assert scheduler.run_due() == 1
        await settled(scheduler)                      # 500: retry in 5 s
        clock.advance(seconds=4.5)
        assert scheduler.run_due() == 0
        clock.advance(seconds=0.5)
        assert scheduler.run_due() == 1
        await settled(scheduler)                      # 200

    stats = with_scheduler(clock, (1.0, 5.0), test)

    assert len(receiver.all_received()) == 3
    counts = stats.of("mmg")
    assert (counts.receipts_scheduled, counts.receipts_retried, counts.receipts_sent, counts.receipts_failed) == \
        (1, 2, 1, 0)


def test_a_receipt_is_given_up_and_counted_when_the_retries_run_out(clock: ManualClock) -> None:
    with socket.socket() as unused:  # a port nothing listens on: connection refused
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}"

    async def test(scheduler: ReceiptScheduler, stats: Stats) -> None:
        scheduler.schedule(a_receipt(url), 0.0)
        await settled(scheduler, drained=True)  # retries without a pause are posted as soon as they are due

    stats = with_scheduler(clock, (0.0, 0.0), test)

    assert (stats.of("mmg").receipts_retried, stats.of("mmg").receipts_failed) == (2, 1)


def test_a_receipt_refused_with_a_client_error_is_not_retried(clock: ManualClock, receiver: Receiver) -> None:
    receiver.statuses.append(403)

    async def test(scheduler: ReceiptScheduler, stats: Stats) -> None:
        scheduler.schedule(a_receipt(receiver.url), 0.0)
        scheduler.run_due()
        await settled(scheduler)
        assert scheduler.pending == 0

    stats = with_scheduler(clock, (0.0, 0.0), test)

    assert (stats.of("mmg").receipts_retried, stats.of("mmg").receipts_failed) == (0, 1)


def test_a_follow_up_receipt_is_posted_after_the_first_is_done(clock: ManualClock, receiver: Receiver) -> None:
    async def test(scheduler: ReceiptScheduler, stats: Stats) -> None:
        follow_up = a_receipt(receiver.url, b"second")
        scheduler.schedule(a_receipt(receiver.url, b"first", then=follow_up), 0.0)
        assert scheduler.pending == 1                # the follow-up waits for the first to be done
        await settled(scheduler, drained=True)

    stats = with_scheduler(clock, (), test)

    assert [r.body for r in receiver.all_received()] == [b"first", b"second"]
    assert (stats.of("mmg").receipts_scheduled, stats.of("mmg").receipts_sent) == (2, 2)
