"""An operator's change to a provider's weight or active flag, under the same lock as automatic ones.

For text messages the active weights keep summing to 100: the provider gets the weight asked for and
the other active providers share the rest in proportion to their weights. A provider that is
deactivated leaves its share to the others; one that is activated enters at the weight asked for,
or else at its resting point among the new active set. A lone active provider has all 100. For
email and letters the priority is an order, set as given. Automatic changes then continue from the
new values (tend-back included, after its quiet spell).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from clarion.routing import weights
from clarion.routing.changes import ChangeKind, ChannelState, Decision, WeightChange, change_weights
from clarion.routing.policy import TOTAL_WEIGHT

__all__ = ["set_by_hand"]


def set_by_hand(session: Session, notification_type: str, identifier: str, *, now: datetime, actor: str, reason: str,
                priority: int | None = None, active: bool | None = None,
                resting: Mapping[str, int] | None = None) -> list[WeightChange]:
    """Set the provider's priority and/or active flag; every row that moved, as changes."""
    total = TOTAL_WEIGHT.get(notification_type)

    def decide(state: ChannelState) -> Decision:
        row = state.providers[identifier]
        now_active = row.active if active is None else active
        new_weights: dict[str, int] = {identifier: row.priority if priority is None else priority}
        if total is not None:
            others = {name: weight for name, weight in state.weights.items() if name != identifier}
            if not now_active:
                new_weights = {**weights.apportion(total, others), identifier: 0 if priority is None else priority}
            elif not others:
                new_weights = {identifier: total}
            else:
                if priority is None and not row.active:  # joining: at its resting point
                    points = weights.resting_points(resting or {}, [*others, identifier], total=total)
                    new_weights[identifier] = points[identifier]
                target = new_weights[identifier]
                new_weights = {**weights.apportion(total - target, others), identifier: target}
        reasons = {name: reason if name == identifier else f"Rebalanced after {identifier} was changed by hand: {reason}"
                   for name in new_weights}
        return Decision(new_weights, active={identifier: now_active}, reasons=reasons)

    return change_weights(session, notification_type, now=now, kind=ChangeKind.MANUAL, decide=decide, actor=actor)
