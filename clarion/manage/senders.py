"""SMS senders and email reply-to addresses; at most one default of each per service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from clarion.db.models import EmailReplyTo, Service, SmsSender
from clarion.manage.errors import ManageError
from clarion.recipients import email as email_addresses
from clarion.recipients.errors import InvalidRecipient

MAX_SENDER_LENGTH = 11


def create_sms_sender(session: Session, service: Service, *, sender: str, is_default: bool,
                      now: datetime) -> SmsSender:
    """A sender name (up to 11 characters) or number the service may send text messages from."""
    sender = sender.strip()
    if not sender or len(sender) > MAX_SENDER_LENGTH:
        raise ManageError(f"an SMS sender must be 1 to {MAX_SENDER_LENGTH} characters, not {len(sender)}")
    if is_default:
        session.execute(update(SmsSender).where(SmsSender.service_id == service.id).values(is_default=False))
    row = SmsSender(id=uuid.uuid4(), service_id=service.id, sms_sender=sender, is_default=is_default, created_at=now)
    session.add(row)
    session.flush()
    return row


def create_reply_to(session: Session, service: Service, *, email_address: str, is_default: bool,
                    now: datetime) -> EmailReplyTo:
    """A reply-to address the service's emails may carry."""
    try:
        address = email_addresses.validate_email_address(email_address)
    except InvalidRecipient as exc:
        raise ManageError(str(exc)) from None
    if is_default:
        session.execute(update(EmailReplyTo).where(EmailReplyTo.service_id == service.id).values(is_default=False))
    row = EmailReplyTo(id=uuid.uuid4(), service_id=service.id, email_address=address, is_default=is_default,
                       created_at=now)
    session.add(row)
    session.flush()
    return row


def serialise_sms_sender(row: SmsSender) -> dict[str, Any]:
    """An SMS sender as JSON."""
    return {"id": str(row.id), "service_id": str(row.service_id), "sms_sender": row.sms_sender,
            "is_default": row.is_default}


def serialise_reply_to(row: EmailReplyTo) -> dict[str, Any]:
    """A reply-to address as JSON."""
    return {"id": str(row.id), "service_id": str(row.service_id), "email_address": row.email_address,
            "is_default": row.is_default}
