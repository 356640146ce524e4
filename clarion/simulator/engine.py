"""Run a scenario through clarion's own routing code on a virtual clock.

What is real: the provider selection (`routing.Router` behind its cache), the policy
(`routing.Balancer`: faults, the slow-delivery check and its query, tend-back, the locked changes
with history), the retry policy and the failover of the first retry. They run against a migrated
SQLite database of the simulation's own, on a ManualClock. What is simulated: the providers (faults,
timeouts and receipt delays drawn from the scenario with a seeded random generator) and the queue
(an event heap in place of Celery).

Every message is followed to a final status: `delivered`, `temporary-failure` (no receipt within
SENDING_TIMEOUT_S) or `technical-failure` (retries spent). After the scenario's duration no new
messages arrive and the run goes on until the last one is final, so a lost message would show.
"""

from __future__ import annotations

import functools
import heapq
import random
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from clarion.clock import ManualClock
from clarion.config import Settings
from clarion.db.engine import make_engine, make_sessions
from clarion.db.migrate import upgrade
from clarion.db.models import Notification, ProviderDetails, RoutingState, Service
from clarion.routing import Balancer, ProviderCache, Router, RoutingRules, weights
from clarion.routing.changes import WeightChange, read_channel
from clarion.simulator.scenario import Scenario
from clarion.worker.retry import RetryPolicy

__all__ = ["Simulation", "TimelineRow", "simulate"]

START = datetime(2020, 1, 26, tzinfo=UTC)  # the blog post's outage began on the morning of 26 January
SMS = "sms"
notifications = Notification.__table__

# Event kinds; events at the same moment are handled in the order they were scheduled. The
# periodic ones come last, so a run can stop once only they are left.
ARRIVE, ATTEMPT, RECEIPT, GIVE_UP, CHECK_SLOW, TEND_BACK, MINUTE = range(7)


@dataclass
class TimelineRow:
    """One simulated minute: each provider's weight at its end, and its sends and faults during it."""

    minute: int
    weight: dict[str, int]
    sent: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)


@dataclass
class Simulation:
    """What a run produced."""

    scenario: Scenario
    providers: list[str]
    resting: dict[str, int]
    timeline: list[TimelineRow]
    changes: list[tuple[float, WeightChange]]  # (minute, change)
    outcomes: Counter[str]  # final status → messages
    accepted: int
    attempts: int
    invariant_breaks: list[str]

    @property
    def lost(self) -> int:
        """Messages accepted that never reached a final status (always 0, or the routing has a bug)."""
        return self.accepted - sum(self.outcomes.values())


def simulate(scenario: Scenario, *, folder: Path | None = None) -> Simulation:
    """Run the scenario; `folder` holds its database (a temporary folder by default)."""
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="clarion-simulate-") as temporary:
            return simulate(scenario, folder=Path(temporary))
    url = f"sqlite:///{folder / 'simulation.db'}"
    settings = scenario.settings_for(url)
    upgrade(url)
    engine = make_engine(url, poolclass=QueuePool)  # one thread: no need for a connection per session
    event.listen(engine, "connect", _scratch_database)
    try:
        return _Run(scenario, settings, make_sessions(engine)).run()
    finally:
        engine.dispose()


class _SimulationCache(ProviderCache):
    """The real cache, TTL and all, that skips re-reading rows nobody changed since its last read.

    In a simulation only the Balancer writes provider rows, and the run tells the cache when it
    did. A read with no change in between would return what the cache holds already, so the
    refresh only restarts the TTL, exactly as a read would; after a change it reads as usual, once
    the TTL is up, so weights still take as long to reach selection as in production.
    """

    _stale = True

    def changed(self) -> None:
        self._stale = True

    def refresh(self, stale: float | None = None) -> None:
        if self._stale:
            self._stale = False
            super().refresh(stale)
        else:
            self._read_at = self._clock.monotonic()


# SQLite keeps UUIDs as 32 hex digits and times as text with microseconds, as SQLAlchemy writes them.
INSERT_SEND = (
    'INSERT INTO notifications (id, service_id, template_id, template_version, key_type, notification_type, "to", '
    "normalised_to, status, body, international, rate_multiplier, billable_units, created_at, sent_at, sent_by, "
    "updated_at) VALUES (?1, ?2, ?2, 1, 'normal', 'sms', '07700900000', '447700900000', 'sending', '', 0, 1.0, 1, "
    "?3, ?4, ?5, ?4)")
APPLY_RECEIPT = "UPDATE notifications SET status = 'delivered', updated_at = ?1 WHERE id = ?2"


@functools.lru_cache(maxsize=4096)
def _stored_second(whole_seconds: int) -> str:
    return f"{START.replace(tzinfo=None) + timedelta(seconds=whole_seconds):%Y-%m-%d %H:%M:%S}"


def _stored_time(seconds: float) -> str:
    whole = int(seconds)
    return f"{_stored_second(whole)}.{int((seconds - whole) * 1_000_000):06d}"


def _scratch_database(dbapi_connection: Any, _record: Any) -> None:
    # The simulation's database is thrown away after the run: no need to wait for the disk.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


@dataclass
class _Message:
    id: str  # 32 hex digits, as SQLite keeps a UUID
    created_s: float
    attempt: int = 0
    avoid: tuple[str, ...] = ()


class _Run:
    def __init__(self, scenario: Scenario, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.scenario, self.settings, self.sessions = scenario, settings, sessions
        self.duration_s = scenario.duration_minutes * 60
        self.arrival_gap_s = 60 / scenario.messages_per_minute
        # The last message accepted is final by then: every retry spent, or its receipt timed out.
        attempts = settings.delivery_max_retries + 1
        self.horizon_s = (self.duration_s + attempts * (settings.delivery_retry_delay_s + settings.provider_timeout_s)
                          + settings.sending_timeout_s + 3600)
        self.providers = list(scenario.providers)
        self.rules = RoutingRules.from_settings(settings)
        self.resting = weights.resting_points(self.rules.resting.get(SMS, {}), self.providers)
        self.clock = ManualClock(START)
        self.now_s = 0.0
        self.random = random.Random(scenario.seed)
        cache = _SimulationCache(sessions, self.clock, ttl_s=settings.routing_cache_ttl_s)
        self.router = Router(cache, rng=random.Random(scenario.seed + 1))
        self.balancer = Balancer(sessions, self.clock, self.rules, cache=cache)
        self.retries = RetryPolicy(max_retries=settings.delivery_max_retries, delay_s=settings.delivery_retry_delay_s)
        self.events: list[tuple[float, int, int, Any]] = []
        self.sequence = 0
        self.sent_rows: list[tuple[str, ...]] = []
        self.receipt_rows: list[tuple[str, str]] = []
        self.timeline: list[TimelineRow] = []
        self.changes: list[tuple[float, WeightChange]] = []
        self.outcomes: Counter[str] = Counter()
        self.accepted = self.attempts = 0
        self.invariant_breaks: list[str] = []
        self.service_id = uuid.uuid4()
        self.service_hex = self.service_id.hex

    # --- set-up -------------------------------------------------------------------------------------

    def _set_up_database(self) -> None:
        """The scenario's providers active at their resting points, every other SMS provider inactive."""
        table = ProviderDetails.__table__
        with self.sessions.begin() as session:
            known = set(session.scalars(select(table.c.identifier).where(table.c.notification_type == SMS)))
            session.execute(update(table).where(table.c.notification_type == SMS).values(active=False, priority=0))
            for name in self.providers:
                values = {"priority": self.resting[name], "active": True, "supports_international": True}
                if name in known:
                    session.execute(update(table).where(table.c.notification_type == SMS,
                                                        table.c.identifier == name).values(**values))
                else:
                    session.add(ProviderDetails(identifier=name, display_name=name, notification_type=SMS,
                                                version=1, **values))
            session.execute(update(RoutingState).values(changed_at=None, moved_away_at=None))
            session.add(Service(id=self.service_id, name="simulation", email_sender_local_part="simulation",
                                created_at=self.clock.now()))

    # --- the event loop -----------------------------------------------------------------------------

    def run(self) -> Simulation:
        self._set_up_database()
        self._push(0.0, ARRIVE, None)
        self._push(self.settings.sms_slow_check_interval_s, CHECK_SLOW, None)
        self._push(self.settings.provider_tend_back_interval_s, TEND_BACK, None)
        self._push(60.0, MINUTE, 0)
        while self.events:
            at, _, kind, payload = heapq.heappop(self.events)
            if kind >= CHECK_SLOW and at > self.duration_s and self.accepted == sum(self.outcomes.values()):
                break  # past the end and every message is final: only the periodic events are left
            if at > self.horizon_s:
                break  # any message not final by now never will be: it is counted as lost
            self._advance_to(at)
            self.HANDLERS[kind](self, payload)
        return Simulation(self.scenario, self.providers, self.resting, self.timeline, self.changes, self.outcomes,
                          self.accepted, self.attempts, self.invariant_breaks)

    def _push(self, at: float, kind: int, payload: Any) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (at, self.sequence, kind, payload))

    def _advance_to(self, at: float) -> None:
        if at > self.now_s:
            self.clock.advance(seconds=at - self.now_s)
            self.now_s = at

    # --- messages -----------------------------------------------------------------------------------

    def _arrive(self, _: Any) -> None:
        self.accepted += 1
        message = _Message(f"{self.accepted:032x}", self.now_s)
        self._attempt(message)
        next_at = self.accepted * self.arrival_gap_s  # not a running sum: no drift over a long run
        if next_at < self.duration_s:
            self._push(next_at, ARRIVE, None)

    def _attempt(self, message: _Message) -> None:
        self.attempts += 1
        provider = self.router.choose(SMS, avoid=message.avoid)
        minute = self.now_s / 60
        phase = self.scenario.phase(provider, minute)
        row = self._row(int(minute))
        draw = self.random.random()
        if draw < phase.error_rate + phase.timeout_rate:
            timed_out = draw >= phase.error_rate
            row.faults[provider] += 1
            self._record(self.balancer.report_faults(SMS, provider))
            countdown = self.retries.countdown_after(message.attempt)
            if countdown is None:
                self.outcomes["technical-failure"] += 1
                return
            # A timeout is only known once the provider timeout has passed.
            waited = self.settings.provider_timeout_s if timed_out else 0.0
            message.avoid = (provider,) if message.attempt == 0 else ()
            message.attempt += 1
            self._push(self.now_s + waited + countdown, ATTEMPT, message)
            return
        row.sent[provider] += 1
        self.sent_rows.append((message.id, self.service_hex, _stored_time(message.created_s),
                               _stored_time(self.now_s), provider))
        if self.random.random() < phase.undelivered_rate:
            self._push(self.now_s + self.settings.sending_timeout_s, GIVE_UP, message)
        else:
            self._push(self.now_s + phase.receipt_delay_seconds, RECEIPT, message)

    def _receipt(self, message: _Message) -> None:
        self.receipt_rows.append((_stored_time(self.now_s), message.id))
        self.outcomes["delivered"] += 1

    def _give_up(self, _: _Message) -> None:
        self.outcomes["temporary-failure"] += 1  # the sending timeout's status

    # --- the periodic tasks -------------------------------------------------------------------------

    def _check_slow(self, _: Any) -> None:
        self._flush()
        self._record(self.balancer.check_slow_delivery())
        self._push(self.now_s + self.settings.sms_slow_check_interval_s, CHECK_SLOW, None)

    def _tend_back(self, _: Any) -> None:
        self._record(self.balancer.tend_back(SMS))
        self._push(self.now_s + self.settings.provider_tend_back_interval_s, TEND_BACK, None)

    def _minute(self, minute: int) -> None:
        """The end of a simulated minute: its weights, and housekeeping of the simulation's own rows."""
        if minute < self.scenario.duration_minutes:
            self._row(minute).weight = self._weights()
        if minute % 10 == 9:
            self._forget_old_rows()
        self._push(self.now_s + 60, MINUTE, minute + 1)

    HANDLERS: dict[int, Callable[[_Run, Any], None]] = {
        ARRIVE: _arrive, ATTEMPT: _attempt, RECEIPT: _receipt, GIVE_UP: _give_up,
        CHECK_SLOW: _check_slow, TEND_BACK: _tend_back, MINUTE: _minute,
    }

    # --- bookkeeping --------------------------------------------------------------------------------

    def _row(self, minute: int) -> TimelineRow:
        while len(self.timeline) <= minute and len(self.timeline) < self.scenario.duration_minutes:
            self.timeline.append(TimelineRow(len(self.timeline), {}))
        return self.timeline[min(minute, len(self.timeline) - 1)]

    def _weights(self) -> dict[str, int]:
        with self.sessions() as session:
            active = read_channel(session, SMS).weights
        return {name: active.get(name, 0) for name in self.providers}

    def _record(self, changes: list[WeightChange]) -> None:
        if not changes:
            return
        self.router.cache.changed()
        minute = self.now_s / 60
        self.changes.extend((minute, change) for change in changes)
        now = self._weights()
        if sum(now.values()) != 100 or not all(0 <= weight <= 100 for weight in now.values()):
            self.invariant_breaks.append(f"minute {minute:.2f}: weights {now}")

    def _flush(self) -> None:
        """Write the sends and receipts since the last check, as the workers would have.

        Plain SQL on purpose: these rows stand in for the workers' own writes, and going through
        the ORM's type processing for each one would take most of a two-day run.
        """
        with self.sessions.begin() as session:
            connection = session.connection()
            if self.sent_rows:
                connection.exec_driver_sql(INSERT_SEND, self.sent_rows)
            if self.receipt_rows:
                connection.exec_driver_sql(APPLY_RECEIPT, self.receipt_rows)
        self.sent_rows, self.receipt_rows = [], []

    def _forget_old_rows(self) -> None:
        # Rows older than any window the checks look at only slow the simulation down.
        self._flush()
        horizon = self.clock.now() - self.rules.slow_window - timedelta(minutes=1)
        with self.sessions.begin() as session:
            session.execute(delete(notifications).where(notifications.c.created_at < horizon))
