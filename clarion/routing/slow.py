"""Which text message providers are slow to deliver (the blog post's measure).

A text sent within `window` is slow when it took at least `slow_after` to be delivered, or is still
not delivered (`sending`/`pending`) `slow_after` after it was sent. `updated_at` stands in for the
delivery time, as in Notify. Failed texts and test keys are not counted.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from clarion.db.models import Notification

__all__ = ["DeliveryReport", "delivery_reports", "slow_providers"]

notifications = Notification.__table__
COUNTED = ("delivered", "pending", "sending")


@dataclass(frozen=True)
class DeliveryReport:
    """A provider's texts sent within the window, and how many of them were slow."""

    slow: int
    total: int

    @property
    def ratio(self) -> float:
        return self.slow / self.total if self.total else 0.0


def delivery_reports(session: Session, providers: Collection[str], *, now: datetime, window: timedelta,
                     slow_after: timedelta) -> dict[str, DeliveryReport]:
    """Per provider, its texts created within `window` that reached it, and the slow ones among them.

    Naming the providers lets the database read ix_notifications_sent_by_created one range per
    provider instead of every text ever sent.
    """
    n = notifications.c
    slow = case((n.status == "delivered", _took_at_least(session, n.updated_at, n.sent_at, slow_after)),
                else_=n.sent_at <= now - slow_after)
    rows = session.execute(
        select(n.sent_by, func.count(), func.sum(case((slow, 1), else_=0)))
        .where(n.notification_type == "sms", n.created_at >= now - window, n.sent_at.is_not(None),
               n.sent_by.in_(sorted(providers)), n.status.in_(COUNTED), n.key_type != "test")
        .group_by(n.sent_by)
    ).all()
    return {provider: DeliveryReport(int(slow_count or 0), int(total)) for provider, total, slow_count in rows}


def slow_providers(reports: Mapping[str, DeliveryReport], active: set[str], *, ratio: float) -> set[str]:
    """The active providers that are slow, when at least one other active provider shows it is not.

    Nothing is slow when every provider is (moving traffic would not help), and a provider that sent
    nothing in the window is no evidence either way: a provider drained to 0 is not proof the
    others are slow.
    """
    judged = {name: report for name, report in reports.items() if name in active and report.total}
    slow = {name for name, report in judged.items() if report.ratio >= ratio}
    return slow if slow and len(slow) < len(judged) else set()


def _took_at_least(session: Session, later: ColumnElement, earlier: ColumnElement,
                   duration: timedelta) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "sqlite":  # datetimes are text: compare Julian days
        days = duration.total_seconds() / 86_400
        return func.julianday(later) - func.julianday(earlier) >= days
    return later - earlier >= duration
