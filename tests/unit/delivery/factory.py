"""Notifications inserted straight into the database, as intake would have left them (a shared fixture)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.db.models import Notification

ADDRESSES = {"sms": "447700900123", "email": "someone@example.com", "letter": "A Person\n1 Street\nSW1A 1AA"}

AddNotification = Callable[..., uuid.UUID]


@pytest.fixture
def add_notification(sessions: sessionmaker[Session], seeded: Any, clock: ManualClock) -> AddNotification:
    """Insert one notification (default: a test-key text message, `created` now) and return its id."""

    def add(*, notification_type: str = "sms", key_type: str = "test", to: str | None = None,
            status: str = "created", created_at: datetime | None = None, **columns: Any) -> uuid.UUID:
        to = to or ADDRESSES[notification_type]
        notification = Notification(
            id=uuid.uuid4(), service_id=seeded.service.id, template_id=seeded.templates[notification_type].id,
            template_version=1, key_type=key_type, notification_type=notification_type, to=to,
            normalised_to=to, status=status, body=columns.pop("body", "Hello Ada, your code is 1234"),
            subject=columns.pop("subject", "Hello Ada" if notification_type != "sms" else None),
            created_at=created_at or clock.now(), billable_units=columns.pop("billable_units", 1), **columns)
        with sessions.begin() as session:
            session.add(notification)
        return notification.id

    return add


def load(sessions: sessionmaker[Session], notification_id: uuid.UUID) -> Notification:
    """The notification as the database has it now."""
    with sessions() as session:
        return session.get_one(Notification, notification_id)
