"""The load-balancing policy of the blog post: move weight off a failing or slow provider, then back.

- A fault (5xx, timeout, connection error) takes `step` points from the provider and shares them
  among the others, unless any weight of the channel changed within `fault_guard`. With a
  `fault_threshold` above 1, only a fault that brings the provider's count within `fault_window`
  to the threshold (or past it) moves weight.
- The slow-delivery check (every minute) takes `step` points from each slow text provider under
  `slow_guard`; nothing moves when every provider is slow.
- Tend-back (every 5 minutes) moves every provider `step` points toward its resting point once no
  weight has changed for `tend_back_quiet` (with `tend_back_quiet_since="move-away"`, once none
  has moved away from a provider: then it steps every time until the resting points).

Each decision is made under the channel's lock (`changes.change_weights`), so any number of workers
reporting at once make one change per guard window. The process cache only lets a worker skip the
lock when it already knows a change is inside the guard; it never makes a change by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker


from clarion.clock import Clock
from clarion.routing import faults, slow, weights
from clarion.routing.changes import ChangeKind, ChannelState, Decision, WeightChange, change_weights, read_channel
from clarion.routing.rules import RoutingRules
from clarion.routing.select import ProviderCache

__all__ = ["Balancer"]

logger = logging.getLogger(__name__)
TOTAL_WEIGHT = {"sms": 100}  # channels whose active weights are shares summing to this


class Balancer:
    """Applies the policy for one process: faults reported by its deliveries, and the periodic checks."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, rules: RoutingRules,
                 cache: ProviderCache | None = None) -> None:
        self.sessions, self.clock, self.rules, self.cache = sessions, clock, rules, cache

    def report_faults(self, notification_type: str, provider: str, count: int = 1) -> list[WeightChange]:
        """`provider` failed `count` sends with a provider fault; the weight changes this made, if any."""
        rules, now = self.rules, self.clock.now()
        if rules.fault_threshold > 1:
            with self.sessions.begin() as session:
                counted = faults.count_faults(session, notification_type, provider, faults=count, now=now,
                                              window=rules.fault_window)
            if counted < rules.fault_threshold:
                return []
        if self._known_guarded(notification_type, now):
            return []

        def decide(state: ChannelState) -> Decision | None:
            if _within(state.changed_at, rules.fault_guard, now) or provider not in state.weights:
                return None
            return Decision(weights.take_points(state.weights, {provider}, rules.step))

        with self.sessions.begin() as session:
            changes = change_weights(session, notification_type, now=now, kind=ChangeKind.FAULT, decide=decide)
        if changes:
            logger.warning("moved weight off a provider after faults",
                           extra={"provider": provider, "notification_type": notification_type, "faults": count})
        return changes

    def check_slow_delivery(self) -> list[WeightChange]:
        """Take points from text providers that deliver slowly (beat task, every minute).

        The delivery reports are read first, without the lock: most minutes nothing is slow, and
        then no lock is taken at all.
        """
        rules, now = self.rules, self.clock.now()
        with self.sessions() as session:
            active = set(read_channel(session, "sms").weights)
            reports = slow.delivery_reports(session, active, now=now, window=rules.slow_window,
                                            slow_after=rules.slow_after)
        if not slow.slow_providers(reports, active, ratio=rules.slow_ratio):
            return []

        def decide(state: ChannelState) -> Decision | None:
            losers = slow.slow_providers(reports, set(state.weights), ratio=rules.slow_ratio)
            if _within(state.changed_at, rules.slow_guard, now) or not losers:
                return None
            logger.warning("text messages are slow to deliver", extra={
                "providers": sorted(losers), "ratios": {name: round(r.ratio, 3) for name, r in reports.items()}})
            return Decision(weights.take_points(state.weights, losers, rules.step))

        with self.sessions.begin() as session:
            return change_weights(session, "sms", now=now, kind=ChangeKind.SLOW_DELIVERY, decide=decide)

    def tend_back(self, notification_type: str = "sms") -> list[WeightChange]:
        """Move weights toward the resting points after a quiet spell (beat task, every 5 minutes)."""
        rules, now = self.rules, self.clock.now()

        def decide(state: ChannelState) -> Decision | None:
            since = state.changed_at if rules.tend_back_quiet_since == "any-change" else state.moved_away_at
            if _within(since, rules.tend_back_quiet, now):
                return None
            resting = weights.resting_points(rules.resting.get(notification_type, {}), state.weights,
                                             total=TOTAL_WEIGHT.get(notification_type))
            return Decision(weights.move_towards(state.weights, resting, rules.step))

        if not self._would_change(notification_type, decide):  # usually so: then no lock is taken
            return []
        with self.sessions.begin() as session:
            return change_weights(session, notification_type, now=now, kind=ChangeKind.TEND_BACK, decide=decide)

    def _would_change(self, notification_type: str, decide: Callable[[ChannelState], Decision | None]) -> bool:
        # A look without the lock; the decision is made again under it.
        with self.sessions() as session:
            state = read_channel(session, notification_type)
            decision = decide(state)
        return decision is not None and dict(decision.weights) != state.weights

    def _known_guarded(self, notification_type: str, now: datetime) -> bool:
        # The cached time can only be older than the real one, so "inside the guard" is always true.
        if self.cache is None:
            return False
        return _within(self.cache.channel(notification_type).changed_at, self.rules.fault_guard, now)


def _within(moment: datetime | None, span: timedelta, now: datetime) -> bool:
    return moment is not None and now - moment < span

