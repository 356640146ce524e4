"""Counting a provider's faults in a window shared by every worker (when one fault is not enough).

One row per provider: the window opens at its first fault and lasts `window`; a fault after that
opens a new one. The count is one atomic upsert, so workers on many machines add to the same count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from clarion.db.models import ProviderFaultWindow

__all__ = ["count_faults"]

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def count_faults(session: Session, notification_type: str, provider: str, *, faults: int, now: datetime,
                 window: timedelta) -> int:
    """Add `faults` to the provider's current window; the window's count afterwards."""
    table = ProviderFaultWindow.__table__
    insert = _INSERTS[session.get_bind().dialect.name]
    # Typed, so PostgreSQL stores it as UTC whatever the session's time zone.
    started = bindparam(None, now, type_=table.c.window_started_at.type)
    expired = table.c.window_started_at <= now - window
    statement = insert(table).values(notification_type=notification_type, identifier=provider,
                                     window_started_at=now, faults=faults)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.notification_type, table.c.identifier],
        set_={"faults": case((expired, faults), else_=table.c.faults + faults),
              "window_started_at": case((expired, started), else_=table.c.window_started_at)},
    ).returning(table.c.faults)
    return int(session.execute(statement).scalar_one())
