"""The numbers of the routing policy (design.md §5), from Settings; the defaults are the blog post's.

Notify's thresholds today (reference/notify-brief.md §2–§3) are settings too:
PROVIDER_FAULT_THRESHOLD=51 (more than 50 faults in 60 s), SMS_SLOW_WINDOW_S=900,
SMS_SLOW_AFTER_S=300, SMS_SLOW_RATIO=0.15, SMS_SLOW_GUARD_S=300 and PROVIDER_TEND_BACK_QUIET_S=900
(`scenarios/notify-today.json`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from clarion.config import Settings

__all__ = ["RoutingRules"]

QuietSince = Literal["move-away", "any-change"]


@dataclass(frozen=True)
class RoutingRules:
    """When weights move, how far, and where they rest."""

    step: int = 10  # points a provider loses (or tend-back moves) in one change
    fault_threshold: int = 1  # faults within fault_window that move weight (the blog: one 5xx)
    fault_window: timedelta = timedelta(seconds=60)
    fault_guard: timedelta = timedelta(seconds=60)  # no fault moves weight this soon after any change
    slow_window: timedelta = timedelta(minutes=10)  # texts sent this recently are judged
    slow_after: timedelta = timedelta(minutes=4)  # a text is slow if not delivered within this
    slow_ratio: float = 0.3  # a provider is slow when at least this share of its texts is
    slow_guard: timedelta = timedelta(seconds=60)
    tend_back_quiet: timedelta = timedelta(hours=1)  # tend back only after this long without a change ...
    # ... of any kind, tend-back's own steps included: one step per quiet hour (design.md §5). With
    # "move-away" only faults, slowness and operators count, and tend-back then steps every interval.
    tend_back_quiet_since: QuietSince = "any-change"
    resting: Mapping[str, Mapping[str, int]] = field(
        default_factory=lambda: {"sms": {"mmg": 51, "firetext": 49}, "email": {"ses": 10, "smtp": 5}})

    @classmethod
    def from_settings(cls, settings: Settings) -> RoutingRules:
        return cls(
            step=settings.provider_step_points,
            fault_threshold=settings.provider_fault_threshold,
            fault_window=timedelta(seconds=settings.provider_fault_window_s),
            fault_guard=timedelta(seconds=settings.provider_fault_guard_s),
            slow_window=timedelta(seconds=settings.sms_slow_window_s),
            slow_after=timedelta(seconds=settings.sms_slow_after_s),
            slow_ratio=settings.sms_slow_ratio,
            slow_guard=timedelta(seconds=settings.sms_slow_guard_s),
            tend_back_quiet=timedelta(seconds=settings.provider_tend_back_quiet_s),
            tend_back_quiet_since=settings.provider_tend_back_quiet_since,
            resting={"sms": settings.sms_provider_resting_points, "email": settings.email_provider_resting_points},
        )
