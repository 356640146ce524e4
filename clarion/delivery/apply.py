"""Move one notification to a new status, if the status table allows it.

Receipts, the delivery flow and the sweepers all change statuses through here, so duplicate and
out-of-order updates are refused in one place: a refusal is logged and returned, never raised.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from clarion.db.models import Notification
from clarion.delivery import status

__all__ = ["apply_status"]

logger = logging.getLogger(__name__)
notifications = Notification.__table__


def apply_status(session: Session, notification_id: UUID, new_status: str, *, now: datetime,
                 failure_reason: str | None = None, **also: Any) -> bool:
    """Move the row to `new_status` if `status.can_move` allows, setting `also` with it; False when refused.

    One conditional UPDATE (compare-and-set on the current status), so two writers can never both
    move a row, on SQLite (which has no row locks) as on PostgreSQL.
    """
    values: dict[str, object] = {"status": new_status, "updated_at": now, **also}
    if failure_reason is not None:
        values["failure_reason"] = failure_reason
    moved = session.execute(
        update(notifications)
        .where(notifications.c.id == notification_id,
               notifications.c.status.in_(sorted(status.previous_statuses(new_status))))
        .values(**values)
    ).rowcount
    if moved:
        return True
    current = session.execute(select(notifications.c.status).where(notifications.c.id == notification_id)).scalar()
    if current is None:
        logger.warning("status update for unknown notification",
                       extra={"notification_id": str(notification_id), "new_status": new_status})
    else:
        logger.info("status update refused",
                    extra={"notification_id": str(notification_id), "status": current, "new_status": new_status})
    return False
