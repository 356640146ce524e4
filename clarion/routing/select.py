"""Provider selection: which provider gets the next delivery attempt of a channel.

Text messages: at random in proportion to the weights of the eligible providers (active, able to
send internationally where the number needs it, and with a client configured in this process). A
lone eligible provider is always used, even at weight 0; all-zero weights split equally instead of
failing. Email and letters: the eligible provider with the highest priority (the seed's order).
`avoid` names providers that just failed this notification: another eligible provider is chosen
when there is one (failover for the message itself).

Provider rows are read through a per-process cache that lives `ttl_s` seconds (2 by default), so a
weight change reaches every worker within that long; no database query is made per message.
"""

from __future__ import annotations

import bisect
import itertools
import random
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import Clock
from clarion.db.models import ProviderDetails, RoutingState
from clarion.routing import metrics

__all__ = ["Candidates", "ChannelProviders", "NoActiveProvider", "ProviderCache", "Router"]

WEIGHTED_CHANNELS = frozenset({"sms"})


class NoActiveProvider(Exception):
    """No provider is active for this channel (and international, where asked); retry later."""


@dataclass(frozen=True)
class Provider:
    """What selection needs of one provider row."""

    identifier: str
    priority: int
    active: bool
    supports_international: bool


@dataclass(frozen=True)
class ChannelProviders:
    """One channel's providers, best priority first, and when its weights last changed."""

    providers: tuple[Provider, ...]
    changed_at: datetime | None


def load_channels(session: Session) -> dict[str, ChannelProviders]:
    """Every channel's providers and when its weights last changed, in one query."""
    table, state = ProviderDetails.__table__, RoutingState.__table__
    rows = session.execute(
        select(table.c.notification_type, table.c.identifier, table.c.priority, table.c.active,
               table.c.supports_international, state.c.changed_at)
        .outerjoin(state, state.c.notification_type == table.c.notification_type)
        .order_by(table.c.priority.desc(), table.c.identifier)).all()
    grouped: dict[str, list[Provider]] = {}
    changed: dict[str, datetime | None] = {}
    for row in rows:
        grouped.setdefault(row.notification_type, []).append(
            Provider(row.identifier, row.priority, row.active, row.supports_international))
        changed[row.notification_type] = row.changed_at
    return {channel: ChannelProviders(tuple(providers), changed[channel]) for channel, providers in grouped.items()}


class ProviderCache:
    """Provider rows of every channel, re-read from the database once they are `ttl_s` seconds old."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, *, ttl_s: float = 2.0) -> None:
        self._sessions, self._clock, self._ttl_s = sessions, clock, ttl_s
        self._lock = threading.Lock()
        self._channels: dict[str, ChannelProviders] = {}
        self._read_at: float | None = None

    def channel(self, notification_type: str) -> ChannelProviders:
        """The channel's providers, at most `ttl_s` seconds old."""
        read_at = self._read_at
        if read_at is None or self._clock.monotonic() - read_at >= self._ttl_s:
            self.refresh(stale=read_at)
        return self._channels.get(notification_type, ChannelProviders((), None))

    def refresh(self, stale: float | None = None) -> None:
        """Read the rows again (one thread reads; the others use what it read)."""
        with self._lock:
            if stale is not None and self._read_at != stale:
                return  # another thread refreshed while this one waited
            with self._sessions() as session:
                self._channels = load_channels(session)
            self._read_at = self._clock.monotonic()
        for channel, providers in self._channels.items():
            for provider in providers.providers:
                metrics.set_weight(channel, provider.identifier, provider.priority if provider.active else 0)


class Router:
    """Chooses the provider of each delivery attempt (design.md §5)."""

    def __init__(self, cache: ProviderCache, *, configured: Collection[tuple[str, str]] | None = None,
                 rng: random.Random | None = None) -> None:
        """`configured`: the (identifier, type) pairs this process has clients for; None means all."""
        self.cache = cache
        self._configured = frozenset(configured) if configured is not None else None
        self._rng = rng or random.Random()
        # The candidates of each kind of attempt, worked out once per read of the cache.
        self._memo: dict[tuple[str, bool, tuple[str, ...]], tuple[ChannelProviders, Candidates]] = {}

    def choose(self, notification_type: str, *, international: bool = False, avoid: Collection[str] = ()) -> str:
        """The identifier of the provider for this attempt; NoActiveProvider when there is none."""
        channel = self.cache.channel(notification_type)
        key = (notification_type, international, tuple(sorted(avoid)))
        memo = self._memo.get(key)
        if memo is None or memo[0] is not channel:
            memo = self._memo[key] = (channel, self._candidates(channel, *key))
        return memo[1].pick(self._rng)

    def _candidates(self, channel: ChannelProviders, notification_type: str, international: bool,
                    avoid: tuple[str, ...]) -> Candidates:
        eligible = [p for p in channel.providers
                    if p.active and (p.supports_international or not international)
                    and (self._configured is None or (p.identifier, notification_type) in self._configured)]
        if not eligible:
            wanted = f"international {notification_type}" if international else notification_type
            raise NoActiveProvider(f"no active {wanted} provider; activate one and the notification is retried")
        candidates = [p for p in eligible if p.identifier not in avoid] or eligible
        if notification_type not in WEIGHTED_CHANNELS:
            candidates = candidates[:1]  # ordered: the highest priority (providers come best first)
        return Candidates.of(candidates)


@dataclass(frozen=True)
class Candidates:
    """The providers an attempt may go to, and their running total of weights."""

    names: tuple[str, ...]
    cumulative: tuple[int, ...]

    @classmethod
    def of(cls, providers: Sequence[Provider]) -> Candidates:
        """Weighted by priority; equally when every weight is 0."""
        weights = [p.priority for p in providers]
        if sum(weights) <= 0:
            weights = [1] * len(providers)
        return cls(tuple(p.identifier for p in providers), tuple(itertools.accumulate(weights)))

    def pick(self, rng: random.Random) -> str:
        """One at random in proportion to its weight (a lone one always)."""
        if len(self.names) == 1:
            return self.names[0]
        return self.names[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]
