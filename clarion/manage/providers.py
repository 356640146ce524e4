"""Provider details: list, change by hand, and the history of every change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clarion.db.models import ProviderDetails, ProviderDetailsHistory
from clarion.manage.errors import ManageError, NotFound


def list_providers(session: Session) -> list[ProviderDetails]:
    """Every provider, grouped by type, best priority first."""
    return list(session.scalars(select(ProviderDetails).order_by(
        ProviderDetails.notification_type, ProviderDetails.priority.desc(), ProviderDetails.identifier)))


def get_provider(session: Session, identifier: str, notification_type: str | None = None) -> ProviderDetails:
    """The provider with this identifier (and type, where an identifier serves several)."""
    query = select(ProviderDetails).where(ProviderDetails.identifier == identifier)
    if notification_type:
        query = query.where(ProviderDetails.notification_type == notification_type)
    rows = list(session.scalars(query))
    if not rows:
        raise NotFound(f"no provider {identifier!r}")
    if len(rows) > 1:
        raise ManageError(f"provider {identifier!r} serves several types; name the type")
    return rows[0]


def set_provider(session: Session, provider: ProviderDetails, *, reason: str, actor: str, now: datetime,
                 priority: int | None = None, active: bool | None = None) -> ProviderDetails:
    """Change a provider's priority or active flag by hand, with a reason, recorded in its history."""
    if not reason.strip():
        raise ManageError("say why with a reason (--reason)")
    if priority is None and active is None:
        raise ManageError("nothing to change: give a priority, an active flag, or both")
    if priority is not None and not 0 <= priority <= 100:
        raise ManageError(f"priority must be between 0 and 100, not {priority}")
    if priority is not None:
        provider.priority = priority
    if active is not None:
        provider.active = active
    provider.reason, provider.created_by, provider.updated_at = reason, actor, now
    provider.version += 1
    session.flush()
    record_history(session, provider)
    return provider


def record_history(session: Session, provider: ProviderDetails) -> None:
    """Write the provider's current values as a new history row."""
    columns = [c.key for c in ProviderDetailsHistory.__table__.columns]
    session.add(ProviderDetailsHistory(**{name: getattr(provider, name) for name in columns}))
    session.flush()


def provider_history(session: Session, provider: ProviderDetails, limit: int = 100) -> list[ProviderDetailsHistory]:
    """The provider's last versions, newest first."""
    return list(session.scalars(
        select(ProviderDetailsHistory).where(ProviderDetailsHistory.id == provider.id)
        .order_by(ProviderDetailsHistory.version.desc()).limit(limit)))


def serialise_provider(row: ProviderDetails | ProviderDetailsHistory) -> dict[str, Any]:
    """A provider (or one of its versions) as JSON."""
    return {
        "id": str(row.id), "identifier": row.identifier, "display_name": row.display_name,
        "notification_type": row.notification_type, "priority": row.priority, "active": row.active,
        "supports_international": row.supports_international, "version": row.version,
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
        "created_by": row.created_by, "reason": row.reason,
    }
