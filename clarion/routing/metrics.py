"""Routing metrics: the weight of every provider, and weight changes counted by reason.

`clarion_provider_weight{notification_type,provider}` is set by the process that changes a weight
and by every process whose provider cache reads the weights, so each worker's /metrics shows the
weights it routes by. `clarion_provider_weight_changes_total{notification_type,reason}` counts
changes (one per provider moved) by kind: fault, slow-delivery, tend-back, manual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge

if TYPE_CHECKING:
    from clarion.routing.changes import WeightChange

__all__ = ["set_weight", "weight_changed"]

_weight = Gauge("clarion_provider_weight", "A provider's routing weight (priority for email and letters)",
                ["notification_type", "provider"], multiprocess_mode="mostrecent")
_changes = Counter("clarion_provider_weight_changes", "Provider weight changes by reason",
                   ["notification_type", "reason"])


def set_weight(notification_type: str, provider: str, weight: int) -> None:
    """Record a provider's current weight."""
    _weight.labels(notification_type, provider).set(weight)


def weight_changed(change: WeightChange) -> None:
    """Count a change and record the new weight."""
    _changes.labels(change.notification_type, str(change.kind)).inc()
    set_weight(change.notification_type, change.provider, change.new if change.active else 0)
