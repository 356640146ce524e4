"""The cost of one provider selection with a warm cache, in microseconds.

Builds a migrated SQLite database in a temporary folder, warms the routing cache once, then times
`Router.choose` as a worker calls it for every delivery attempt: a text (weighted random over two
providers), an international text, a failover retry (`avoid`), three weighted providers, and an
email (ordered). Then the cost of re-reading the weights when the cache's TTL runs out, which a
worker pays once per ROUTING_CACHE_TTL_S, not per message.

    python benchmarks/selection.py                 # 200,000 selections of each kind
    python benchmarks/selection.py --selections 1000000
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.pool import QueuePool

from clarion.clock import ManualClock
from clarion.db.engine import make_engine, make_sessions
from clarion.db.migrate import upgrade
from clarion.db.models import ProviderDetails
from clarion.routing import ProviderCache, Router


def per_call_us(call: Callable[[], object], count: int) -> float:
    """Microseconds per call, best of three runs."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(count):
            call()
        best = min(best, time.perf_counter() - started)
    return best / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--selections", type=int, default=200_000)
    count = parser.parse_args().selections
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'selection.db'}"
        upgrade(url)
        sessions = make_sessions(make_engine(url, poolclass=QueuePool))
        clock = ManualClock(datetime(2026, 1, 26, tzinfo=UTC))  # stands still: the cache stays warm
        router = Router(ProviderCache(sessions, clock, ttl_s=2.0), rng=random.Random(0))
        router.choose("sms")  # warm
        rows = [
            ("text, two weighted providers", lambda: router.choose("sms")),
            ("international text", lambda: router.choose("sms", international=True)),
            ("failover retry (avoid mmg)", lambda: router.choose("sms", avoid=("mmg",))),
            ("email, ordered", lambda: router.choose("email")),
        ]
        results = [(name, per_call_us(call, count)) for name, call in rows]

        with sessions.begin() as session:  # a third SMS provider, for N > 2
            session.add(ProviderDetails(identifier="reach", display_name="Reach", notification_type="sms",
                                        priority=0, active=True, supports_international=False, version=1))
            session.execute(update(ProviderDetails).where(ProviderDetails.identifier == "mmg").values(priority=34))
            session.execute(update(ProviderDetails).where(ProviderDetails.identifier == "firetext")
                            .values(priority=33))
            session.execute(update(ProviderDetails).where(ProviderDetails.identifier == "reach").values(priority=33))
        router.cache.refresh()
        results.append(("text, three weighted providers", per_call_us(lambda: router.choose("sms"), count)))
        refresh_us = per_call_us(router.cache.refresh, 2_000)

    print(f"provider selection with a warm cache ({count:,} selections each, best of 3)")
    for name, micros in results:
        print(f"  {name:<34} {micros:6.2f} µs")
    print(f"cache refresh (once per ROUTING_CACHE_TTL_S per process): {refresh_us:,.0f} µs")


if __name__ == "__main__":
    main()
