"""Provider details: list, change by hand, and the history of every change."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clarion.db.models import ProviderDetails, ProviderDetailsHistory
from clarion.manage.errors import ManageError, NotFound
from clarion.routing import manual
from clarion.routing.changes import WeightChange


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
                 priority: int | None = None, active: bool | None = None,
                 resting: Mapping[str, int] | None = None) -> list[WeightChange]:
    """Change a provider's priority or active flag by hand, with a reason, recorded in its history.

    For text messages the other active providers are rebalanced so the weights still sum to 100
    (`routing.manual`); `resting` (SMS_PROVIDER_RESTING_POINTS) places a provider being activated.
    """
    if not reason.strip():
        raise ManageError("say why with a reason (--reason)")
    if priority is None and active is None:
        raise ManageError("nothing to change: give a priority, an active flag, or both")
    if priority is not None and not 0 <= priority <= 100:
        raise ManageError(f"priority must be between 0 and 100, not {priority}")
    if active is False and provider.active and not _other_active(session, provider):
        raise ManageError(f"{provider.identifier} is the only active {provider.notification_type} provider: "
                          f"activate another first, or nothing of this kind can be sent")
    changes = manual.set_by_hand(session, provider.notification_type, provider.identifier, now=now, actor=actor,
                                 reason=reason, priority=priority, active=active, resting=resting)
    session.refresh(provider)
    return changes


def _other_active(session: Session, provider: ProviderDetails) -> bool:
    return session.scalar(select(ProviderDetails.id).where(
        ProviderDetails.notification_type == provider.notification_type, ProviderDetails.active.is_(True),
        ProviderDetails.id != provider.id).limit(1)) is not None


def history(session: Session, *, provider: ProviderDetails | None = None, notification_type: str | None = None,
            limit: int = 100) -> list[ProviderDetailsHistory]:
    """Versions of one provider (or of every provider, or of one channel's), newest first."""
    h = ProviderDetailsHistory
    if provider is not None:  # one provider's versions are in order by number
        query = select(h).where(h.id == provider.id).order_by(h.version.desc())
    else:
        query = select(h).order_by(h.updated_at.desc(), h.version.desc(), h.identifier)
    if notification_type is not None:
        query = query.where(h.notification_type == notification_type)
    return list(session.scalars(query.limit(limit)))


def serialise_provider(row: ProviderDetails | ProviderDetailsHistory) -> dict[str, Any]:
    """A provider (or one of its versions) as JSON."""
    return {
        "id": str(row.id), "identifier": row.identifier, "display_name": row.display_name,
        "notification_type": row.notification_type, "priority": row.priority, "active": row.active,
        "supports_international": row.supports_international, "version": row.version,
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
        "created_by": row.created_by, "reason": row.reason,
        **({"previous_priority": row.previous_priority} if isinstance(row, ProviderDetailsHistory) else {}),
    }
