"""Interim provider selection: the active provider of a channel with the highest priority.

A later issue replaces this with the weighted selection of design.md §5; the signature stays.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from clarion.db.models import ProviderDetails

__all__ = ["NoActiveProvider", "choose_provider"]


class NoActiveProvider(Exception):
    """No provider is active for this channel (and international, where asked); retry later."""


def choose_provider(session: Session, notification_type: str, *, international: bool = False) -> str:
    """The identifier of the active provider for this channel with the highest priority."""
    table = ProviderDetails.__table__
    query = (select(table.c.identifier)
             .where(table.c.notification_type == notification_type, table.c.active.is_(True))
             .order_by(table.c.priority.desc(), table.c.identifier)
             .limit(1))
    if international:
        query = query.where(table.c.supports_international.is_(True))
    identifier = session.execute(query).scalar_one_or_none()
    if identifier is None:
        wanted = f"international {notification_type}" if international else notification_type
        raise NoActiveProvider(f"no active {wanted} provider; activate one and the notification is retried")
    return identifier
