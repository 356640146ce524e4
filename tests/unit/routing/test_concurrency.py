"""Many workers reporting the same fault at the same moment make one weight change, not one each.

Each thread is a worker with its own session and its own database connection, and no provider cache,
so every one of them goes to the database; a barrier releases them together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.db.engine import is_sqlite, make_engine, make_sessions
from clarion.db.models import ProviderFaultWindow
from clarion.routing import Balancer, RoutingRules
from clarion.routing.changes import WeightChange

THREADS = 16
T = TypeVar("T")


@pytest.fixture
def worker_sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions for THREADS workers at once, each on a connection of its own."""
    pool = {} if is_sqlite(database_url) else {"pool_size": THREADS, "max_overflow": 0}
    engine = make_engine(database_url, **pool)
    yield make_sessions(engine)
    engine.dispose()


def all_at_once(work: Callable[[int], T]) -> list[T]:
    """Run work(i) in THREADS threads released together; their results, or the first error raised."""
    barrier = threading.Barrier(THREADS)

    def run(i: int) -> T:
        barrier.wait(timeout=30)
        return work(i)

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(run, i) for i in range(THREADS)]
        return [future.result(timeout=60) for future in futures]


def report_everywhere(sessions: sessionmaker[Session], clock: ManualClock, rules: RoutingRules,
                      provider: Callable[[int], str] = lambda i: "mmg") -> list[list[WeightChange]]:
    # One balancer per worker, cache=None: each thread takes the lock and decides for itself.
    return all_at_once(lambda i: Balancer(sessions, clock, rules, cache=None).report_faults("sms", provider(i)))


def test_simultaneous_faults_make_one_change_per_guard_window(worker_sessions: sessionmaker[Session], routing_db,
                                                              clock: ManualClock, rules: RoutingRules) -> None:
    results = report_everywhere(worker_sessions, clock, rules)
    assert sum(1 for changes in results if changes) == 1
    assert routing_db.weights() == {"mmg": 41, "firetext": 59}
    assert sorted((row.identifier, row.previous_priority, row.priority) for row in routing_db.history()) == [
        ("firetext", 49, 59), ("mmg", 51, 41)]

    clock.advance(seconds=61)
    results = report_everywhere(worker_sessions, clock, rules)
    assert sum(1 for changes in results if changes) == 1
    assert routing_db.weights() == {"mmg": 31, "firetext": 69}
    assert len(routing_db.history()) == 4


def test_simultaneous_faults_of_both_providers_make_one_change(worker_sessions: sessionmaker[Session], routing_db,
                                                               clock: ManualClock, rules: RoutingRules) -> None:
    results = report_everywhere(worker_sessions, clock, rules, provider=lambda i: ("mmg", "firetext")[i % 2])
    assert sum(1 for changes in results if changes) == 1
    assert routing_db.weights() in ({"mmg": 41, "firetext": 59}, {"mmg": 61, "firetext": 39})
    assert len(routing_db.history()) == 2


def test_simultaneous_faults_are_all_counted_towards_the_threshold(worker_sessions: sessionmaker[Session],
                                                                   routing_db, clock: ManualClock) -> None:
    results = report_everywhere(worker_sessions, clock, RoutingRules(fault_threshold=3))
    assert sum(1 for changes in results if changes) == 1
    assert routing_db.weights() == {"mmg": 41, "firetext": 59}
    with worker_sessions() as session:
        assert session.scalars(select(ProviderFaultWindow.faults)).one() == THREADS
