"""Sweepers: the database-side half of the beat tasks that make sure every notification finishes.

A lost queue message never loses a notification: `requeue_stuck_created` finds text messages and
emails still `created` after a while, and `time_out_sending` gives up on those a provider never
reported on. `give_up_on_created` is the last net: anything, of any type, that never reached a provider
within the timeout ends `technical-failure`, so every accepted notification reaches a final status.
All take `now` and a session and never commit; the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from clarion.db.models import Notification
from clarion.delivery import status

__all__ = ["SWEPT_TYPES", "give_up_on_created", "requeue_stuck_created", "time_out_letters", "time_out_sending"]

SWEPT_TYPES = ("sms", "email")  # letters have their own follow-up
notifications = Notification.__table__


def requeue_stuck_created(session: Session, *, notification_type: str, now: datetime, older_than: timedelta,
                          lookback: timedelta, limit: int) -> list[UUID]:
    """Claim up to `limit` notifications of a type still `created` after `older_than`; returns their ids.

    Claiming stamps `updated_at`, so a notification is re-queued at most once per `older_than`, even
    when it is stuck in a long retry loop: each sweep does not start yet another retry chain.
    """
    if notification_type not in SWEPT_TYPES:
        raise ValueError(f"only {SWEPT_TYPES} are re-queued, not {notification_type!r}")
    n = notifications.c
    cutoff = now - older_than
    ids = list(session.execute(
        select(n.id)
        .where(n.status == status.CREATED, n.notification_type == notification_type,
               n.created_at < cutoff, n.created_at >= now - lookback,
               or_(n.updated_at.is_(None), n.updated_at < cutoff))
        .order_by(n.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).scalars())
    if ids:
        session.execute(update(notifications).where(n.id.in_(ids), n.status == status.CREATED)
                        .values(updated_at=now))
    return ids


def time_out_sending(session: Session, *, now: datetime, older_than: timedelta, batch_size: int = 10_000) -> int:
    """Move text messages and emails `sending`/`pending` since before `now - older_than` to temporary-failure."""
    n = notifications.c
    waiting = (status.SENDING, status.PENDING)
    total = 0
    while True:
        ids = list(session.execute(
            select(n.id)
            .where(n.notification_type.in_(SWEPT_TYPES), n.status.in_(waiting), n.created_at < now - older_than)
            .limit(batch_size)
        ).scalars())
        if not ids:
            return total
        result = session.execute(update(notifications).where(n.id.in_(ids), n.status.in_(waiting))
                                 .values(status=status.TEMPORARY_FAILURE, updated_at=now))
        total += result.rowcount
        if len(ids) < batch_size:
            return total


def time_out_letters(session: Session, *, now: datetime, older_than: timedelta) -> int:
    """Letters DVLA accepted but never called back about since before `now - older_than` → technical-failure.

    DVLA retries its callback for three hours and despatches within days, so a letter still `sending`
    after LETTER_SENDING_TIMEOUT_S (a week) needs a person to ask DVLA; the status says so, instead
    of `sending` for ever.
    """
    n = notifications.c
    return session.execute(update(notifications).where(
        n.notification_type == "letter", n.status == status.SENDING, n.sent_at < now - older_than,
    ).values(status=status.TECHNICAL_FAILURE, updated_at=now,
             failure_reason="DVLA never reported despatch; ask DVLA about this letter")).rowcount


def give_up_on_created(session: Session, *, now: datetime, older_than: timedelta, batch_size: int = 10_000) -> int:
    """Move notifications of any type still `created` since before `now - older_than` to technical-failure."""
    n = notifications.c
    total = 0
    while True:
        ids = list(session.execute(
            select(n.id).where(n.status == status.CREATED, n.created_at < now - older_than).limit(batch_size)
        ).scalars())
        if not ids:
            return total
        result = session.execute(update(notifications).where(n.id.in_(ids), n.status == status.CREATED).values(
            status=status.TECHNICAL_FAILURE, updated_at=now, failure_reason="never handed to a provider in time"))
        total += result.rowcount
        if len(ids) < batch_size:
            return total
