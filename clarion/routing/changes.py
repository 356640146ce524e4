"""Weight changes as one atomic step, however many workers and machines try at once.

A change runs in one transaction that first locks the channel's `routing_state` row (a row lock on
PostgreSQL; SQLite's single write lock, taken by touching the row before anything is read), then
reads the weights and the guard times, decides, and writes. A second worker that wanted the same
change waits for the lock, then sees the first one's change inside the guard and does nothing.

Every change writes the provider row (version + 1), a history row with the old and new weight, the
reason and the actor, a JSON log line, and metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from clarion.db.models import ProviderDetails, ProviderDetailsHistory, RoutingState
from clarion.routing import metrics

__all__ = ["AUTOMATIC_ACTOR", "ChangeKind", "ChannelState", "WeightChange", "change_weights", "read_channel",
           "record_history"]

logger = logging.getLogger(__name__)
AUTOMATIC_ACTOR = "clarion-routing"  # Notify's NOTIFY_USER_ID: the actor of every automatic change


class ChangeKind(StrEnum):
    """Why weights moved; the `reason` label of the changes counter."""

    FAULT = "fault"
    SLOW_DELIVERY = "slow-delivery"
    TEND_BACK = "tend-back"
    MANUAL = "manual"


# Notify's reasons for automatic changes (reference/notify-brief.md §2.2), per kind: (lost, gained).
REASONS: Mapping[ChangeKind, tuple[str, str]] = {
    ChangeKind.FAULT: ("Reduced due to reduced reliability", "Increased due to reduced reliability in other provider"),
    ChangeKind.SLOW_DELIVERY: ("Reduced due to slow delivery", "Increased due to slow delivery in other provider"),
    ChangeKind.TEND_BACK: ("Adjusted back to resting point", "Adjusted back to resting point"),
}


@dataclass(frozen=True)
class ChannelState:
    """A channel's providers and guard times, read under the lock."""

    notification_type: str
    providers: Mapping[str, ProviderDetails]
    changed_at: datetime | None
    moved_away_at: datetime | None

    @property
    def weights(self) -> dict[str, int]:
        """The weights of the active providers."""
        return {name: row.priority for name, row in self.providers.items() if row.active}


@dataclass(frozen=True)
class WeightChange:
    """One provider's weight (or active flag) moved."""

    notification_type: str
    provider: str
    old: int
    new: int
    reason: str
    actor: str
    kind: ChangeKind
    at: datetime
    active: bool = field(default=True)

    def to_json(self) -> dict[str, object]:
        return {"at": self.at.isoformat(), "notification_type": self.notification_type, "provider": self.provider,
                "old": self.old, "new": self.new, "reason": self.reason, "actor": self.actor, "kind": str(self.kind)}


@dataclass(frozen=True)
class Decision:
    """What to write: new weights (and active flags) by identifier, with the reason for each."""

    weights: Mapping[str, int]
    active: Mapping[str, bool] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)  # by identifier; default: the kind's text


Decide = Callable[[ChannelState], Decision | None]


def change_weights(session: Session, notification_type: str, *, now: datetime, kind: ChangeKind, decide: Decide,
                   actor: str = AUTOMATIC_ACTOR) -> list[WeightChange]:
    """Lock the channel, let `decide` look at it, and write what it decided; the changes made.

    `decide` returns None (or the same weights) to change nothing. Runs inside the caller's
    transaction, which must commit for the lock to be released.
    """
    state = _lock_channel(session, notification_type)
    decision = decide(state)
    if decision is None:
        return []
    changes = []
    for name, row in state.providers.items():
        new_weight = decision.weights.get(name, row.priority)
        new_active = decision.active.get(name, row.active)
        if (new_weight, new_active) == (row.priority, row.active):
            continue
        reason = decision.reasons.get(name) or _reason(kind, gained=new_weight > row.priority)
        changes.append(WeightChange(notification_type, name, row.priority, new_weight, reason, actor, kind, now,
                                    new_active))
        old = row.priority
        row.priority, row.active, row.reason, row.created_by, row.updated_at = (new_weight, new_active, reason, actor,
                                                                                now)
        row.version += 1
        record_history(session, row, previous_priority=old)
    if changes:
        values = {"changed_at": now} if kind is ChangeKind.TEND_BACK else {"changed_at": now, "moved_away_at": now}
        session.execute(update(RoutingState).where(RoutingState.notification_type == notification_type).values(values))
        session.flush()
        for change in changes:
            logger.info("provider weight changed", extra=change.to_json())
            metrics.weight_changed(change)
    return changes


def record_history(session: Session, provider: ProviderDetails, *, previous_priority: int | None) -> None:
    """Write the provider's current values, and its weight before the change, as a new history row."""
    columns = [c.key for c in ProviderDetails.__table__.columns]
    session.add(ProviderDetailsHistory(previous_priority=previous_priority,
                                       **{name: getattr(provider, name) for name in columns}))
    session.flush()


def _reason(kind: ChangeKind, *, gained: bool) -> str:
    lost_text, gained_text = REASONS.get(kind, ("Changed by hand", "Changed by hand"))
    return gained_text if gained else lost_text


def _lock_channel(session: Session, notification_type: str) -> ChannelState:
    table = RoutingState.__table__
    where = table.c.notification_type == notification_type
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks: a write first takes the database's write lock, so the reads
        # below see every change committed before it and none can commit until this one does.
        session.execute(update(table).where(where).values(changed_at=table.c.changed_at))
    if session.execute(select(table.c.notification_type).where(where).with_for_update()).first() is None:
        session.add(RoutingState(notification_type=notification_type))  # a channel the migrations did not seed
        session.flush()
        return _lock_channel(session, notification_type)
    return read_channel(session, notification_type, for_update=True)


def read_channel(session: Session, notification_type: str, *, for_update: bool = False) -> ChannelState:
    """The channel's providers and guard times (locked with `for_update`, on PostgreSQL)."""
    state = session.get(RoutingState, notification_type)
    query = (select(ProviderDetails).where(ProviderDetails.notification_type == notification_type)
             .order_by(ProviderDetails.identifier))
    if for_update:
        # Re-read rows the session may hold already (the CLI and admin API load the provider
        # first): the decision must start from what another worker may just have committed.
        query = query.with_for_update().execution_options(populate_existing=True)
    providers = {p.identifier: p for p in session.scalars(query)}
    return ChannelState(notification_type, providers, state.changed_at if state else None,
                        state.moved_away_at if state else None)
