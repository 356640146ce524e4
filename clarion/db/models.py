"""The tables. The database is the source of truth; the queue carries only notification ids.

Column names follow GOV.UK Notify's where a concept is the same (reference/notify-brief.md), so
operators who know Notify can read the schema. Hot paths use these tables through Core statements
(`Notification.__table__`); the ORM classes serve the operator commands and tests.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from clarion.db.types import UtcDateTime

NOTIFICATION_TYPES = ("sms", "email", "letter")
KEY_TYPES = ("normal", "team", "test")
PERMISSIONS = ("sms", "email", "letter", "international_sms", "international_letters")
DEFAULT_DAILY_LIMIT = 999_999_999
DEFAULT_INTERNATIONAL_SMS_LIMIT = 250_000


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[str]: JSON}


class Service(Base):
    """A team that sends notifications through clarion."""

    __tablename__ = "services"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)  # trial mode
    prefix_sms: Mapped[bool] = mapped_column(Boolean, default=True)
    rate_limit: Mapped[int] = mapped_column(Integer, default=3000)  # requests per minute per key type
    sms_message_limit: Mapped[int] = mapped_column(Integer, default=DEFAULT_DAILY_LIMIT)
    email_message_limit: Mapped[int] = mapped_column(Integer, default=DEFAULT_DAILY_LIMIT)
    letter_message_limit: Mapped[int] = mapped_column(Integer, default=DEFAULT_DAILY_LIMIT)
    international_sms_message_limit: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_INTERNATIONAL_SMS_LIMIT
    )
    permissions: Mapped[list[str]] = mapped_column(default=lambda: ["sms", "email", "letter"])
    email_sender_local_part: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]


class ApiKey(Base):
    """A service's API key. The secret is kept encrypted (it is the HMAC key for JWTs)."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    key_type: Mapped[str] = mapped_column(String(16))
    secret: Mapped[str] = mapped_column(Text)  # Fernet token of the secret uuid
    created_at: Mapped[datetime]
    expiry_date: Mapped[datetime | None]  # set when revoked


class GuestListRecipient(Base):
    """Someone a trial-mode service or a team key may send to."""

    __tablename__ = "service_guest_list"
    __table_args__ = (UniqueConstraint("service_id", "recipient_type", "recipient"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id"), index=True)
    recipient_type: Mapped[str] = mapped_column(String(16))  # mobile | email
    recipient: Mapped[str] = mapped_column(String(255))  # normalised
    created_at: Mapped[datetime]


class TemplateFields:
    """The columns every template version has; shared by the current row and its history."""

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id"), index=True)
    template_type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str | None] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    postage: Mapped[str | None] = mapped_column(String(16))
    letter_contact_block: Mapped[str | None] = mapped_column(Text)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]


class Template(TemplateFields, Base):
    """The current version of a template; every version is kept in templates_history."""

    __tablename__ = "templates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    version: Mapped[int] = mapped_column(Integer, default=1)


class TemplateHistory(TemplateFields, Base):
    """One immutable template version; notifications point at (id, version)."""

    __tablename__ = "templates_history"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)


class SmsSender(Base):
    """A sender name or number a service may send text messages from."""

    __tablename__ = "service_sms_senders"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id"), index=True)
    sms_sender: Mapped[str] = mapped_column(String(11))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]


class EmailReplyTo(Base):
    """A reply-to address a service's emails may carry."""

    __tablename__ = "service_email_reply_to"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id"), index=True)
    email_address: Mapped[str] = mapped_column(String(255))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]


class Notification(Base):
    """One message to one recipient, from acceptance to a final status."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_service_list", "service_id", "key_type", "created_at"),
        Index("ix_notifications_status_created", "status", "created_at"),
        Index("ix_notifications_sent_by_created", "notification_type", "sent_by", "created_at"),
        Index("ix_notifications_reference", "reference"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id"))
    template_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    template_version: Mapped[int] = mapped_column(Integer)
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    key_type: Mapped[str] = mapped_column(String(16))
    notification_type: Mapped[str] = mapped_column(String(16))
    to: Mapped[str] = mapped_column(Text)  # as the caller gave it: a number, an address, or address lines
    normalised_to: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    personalisation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    body: Mapped[str] = mapped_column(Text)  # rendered at acceptance: what the recipient gets
    subject: Mapped[str | None] = mapped_column(Text)
    client_reference: Mapped[str | None] = mapped_column(String(1000))
    reference: Mapped[str | None] = mapped_column(String(255))  # the provider's id for it
    reply_to_text: Mapped[str | None] = mapped_column(String(255))  # sms sender or email reply-to
    international: Mapped[bool] = mapped_column(Boolean, default=False)
    phone_prefix: Mapped[str | None] = mapped_column(String(8))
    rate_multiplier: Mapped[float] = mapped_column(Float, default=1.0)
    billable_units: Mapped[int] = mapped_column(Integer, default=0)
    postage: Mapped[str | None] = mapped_column(String(16))
    one_click_unsubscribe_url: Mapped[str | None] = mapped_column(Text)
    sent_by: Mapped[str | None] = mapped_column(String(32))
    failure_reason: Mapped[str | None] = mapped_column(Text)  # provider's detailed status text
    # Set while one worker is delivering it, so a second copy of its queue message sends nothing.
    delivery_claimed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]


class ProviderFields:
    """The columns of a provider's details; shared by the current row and its history."""

    display_name: Mapped[str] = mapped_column(String(255))
    identifier: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer)  # a weight for SMS; for email and letters the highest wins
    notification_type: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    supports_international: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(String(255))  # actor of the change
    reason: Mapped[str | None] = mapped_column(Text)


class ProviderDetails(ProviderFields, Base):
    """A provider clarion can hand notifications to, with its routing priority (a weight for SMS)."""

    __tablename__ = "provider_details"
    __table_args__ = (UniqueConstraint("identifier", "notification_type"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ProviderDetailsHistory(ProviderFields, Base):
    """Every version of a provider's details: the audit trail of routing changes."""

    __tablename__ = "provider_details_history"
    __table_args__ = (Index("ix_provider_details_history_type_updated", "notification_type", "updated_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    previous_priority: Mapped[int | None] = mapped_column(Integer)  # the weight before this change


class RoutingState(Base):
    """When a channel's weights last changed; automatic changes lock this row and check it (the guards)."""

    __tablename__ = "routing_state"

    notification_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    changed_at: Mapped[datetime | None]  # any change of a weight or active flag, tend-back included
    moved_away_at: Mapped[datetime | None]  # a fault, slowness or an operator moved weight


class ProviderFaultWindow(Base):
    """Faults a provider made since its window opened (used when one fault is not enough to move weight)."""

    __tablename__ = "provider_fault_windows"

    notification_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(32), primary_key=True)
    window_started_at: Mapped[datetime]
    faults: Mapped[int] = mapped_column(Integer)


class InboundSms(Base):
    """A text message a service's users sent to it."""

    __tablename__ = "inbound_sms"
    __table_args__ = (Index("ix_inbound_sms_service_created", "service_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id"))
    notify_number: Mapped[str] = mapped_column(String(255))
    user_number: Mapped[str] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_reference: Mapped[str | None] = mapped_column(String(255))
    provider_date: Mapped[datetime | None]
    created_at: Mapped[datetime]


class LimitCounter(Base):
    """Rate-limit buckets and daily counters when no Redis is configured (the embedded default)."""

    __tablename__ = "limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[float] = mapped_column(Float)  # tokens left, or messages counted today
    stamp: Mapped[float] = mapped_column(Float)  # last refill (epoch s), or expiry (epoch s)


class Complaint(Base):
    """A recipient marked an email as spam (an SES complaint); the notification's status is left as it was."""

    __tablename__ = "complaints"
    __table_args__ = (
        UniqueConstraint("ses_feedback_id"),  # SNS may deliver a complaint twice; it is recorded once
        Index("ix_complaints_service_created", "service_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    notification_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id"))
    ses_feedback_id: Mapped[str | None] = mapped_column(String(255))
    complaint_type: Mapped[str | None] = mapped_column(String(255))  # SES complaintFeedbackType, e.g. "abuse"
    complaint_date: Mapped[datetime | None]
    created_at: Mapped[datetime]
