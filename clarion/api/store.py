"""The API's database statements: Core selects and one INSERT per notification, on the async engine.

No ORM objects on the hot path (reference/performance.md): rows come back as mappings and are turned
into the small frozen dataclasses of `clarion.delivery.intake`, which the API caches for a few seconds.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, Table, and_, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from clarion.crypto import InvalidToken, SecretBox
from clarion.db.models import (
    ApiKey,
    EmailReplyTo,
    GuestListRecipient,
    InboundSms,
    Notification,
    Service,
    SmsSender,
    Template,
    TemplateHistory,
)
from clarion.delivery.intake import ApiKeyInfo, SenderInfo, ServiceInfo, TemplateInfo

__all__ = [
    "get_notification", "get_template", "get_template_version", "list_notifications",
    "list_received_texts", "list_template_versions", "list_templates", "load_service", "ping",
]

log = logging.getLogger(__name__)

NOTIFICATIONS = Notification.__table__
TEMPLATES = Template.__table__
TEMPLATES_HISTORY = TemplateHistory.__table__
INBOUND = InboundSms.__table__
REVOKED_KEYS_KEPT = timedelta(days=7)  # a key revoked longer ago is "not found" rather than "revoked"


async def ping(engine: AsyncEngine) -> None:
    """Raise unless the database answers."""
    async with engine.connect() as connection:
        await connection.execute(select(1))


async def load_service(engine: AsyncEngine, service_id: uuid.UUID, *, box: SecretBox,
                       now: datetime) -> ServiceInfo | None:
    """The service with its usable keys (secrets decrypted), senders, reply-to addresses and guest list."""
    async with engine.connect() as connection:
        service = (await connection.execute(select(Service.__table__).where(Service.id == service_id))).mappings().first()
        if service is None:
            return None
        api_keys = await _api_keys(connection, service_id, box=box, now=now)
        sms_senders = await _senders(connection, SmsSender, SmsSender.sms_sender, service_id)
        reply_tos = await _senders(connection, EmailReplyTo, EmailReplyTo.email_address, service_id)
        guests = (await connection.execute(
            select(GuestListRecipient.recipient).where(GuestListRecipient.service_id == service_id))).scalars()
        guest_list = frozenset(recipient.lower() for recipient in guests)
    return ServiceInfo(
        id=service["id"], name=service["name"], active=service["active"], restricted=service["restricted"],
        prefix_sms=service["prefix_sms"], rate_limit=service["rate_limit"],
        daily_limits={"sms": service["sms_message_limit"], "email": service["email_message_limit"],
                      "letter": service["letter_message_limit"],
                      "international_sms": service["international_sms_message_limit"]},
        permissions=frozenset(service["permissions"] or ()), email_sender_local_part=service["email_sender_local_part"],
        api_keys=api_keys, sms_senders=sms_senders, reply_tos=reply_tos, guest_list=guest_list,
    )


async def _api_keys(connection: AsyncConnection, service_id: uuid.UUID, *, box: SecretBox,
                    now: datetime) -> tuple[ApiKeyInfo, ...]:
    rows = (await connection.execute(
        select(ApiKey.id, ApiKey.key_type, ApiKey.secret, ApiKey.expiry_date)
        .where(ApiKey.service_id == service_id)
        .where(or_(ApiKey.expiry_date.is_(None), ApiKey.expiry_date > now - REVOKED_KEYS_KEPT))
        .order_by(ApiKey.created_at))).all()
    keys = []
    for key_id, key_type, token, expiry_date in rows:
        try:
            keys.append(ApiKeyInfo(id=key_id, key_type=key_type, secret=box.decrypt(token), expiry_date=expiry_date))
        except InvalidToken:
            log.error("API key secret cannot be decrypted: SECRET_KEY changed since the key was made",
                      extra={"api_key_id": str(key_id), "service_id": str(service_id)})
    return tuple(keys)


async def _senders(connection: AsyncConnection, model: Any, value: Any, service_id: uuid.UUID) -> tuple[SenderInfo, ...]:
    rows = (await connection.execute(
        select(model.id, value, model.is_default)
        .where(model.service_id == service_id, model.archived.is_(False)))).all()
    return tuple(SenderInfo(id=row[0], value=row[1], is_default=row[2]) for row in rows)


def _template(row: RowMapping, version: int | None = None) -> TemplateInfo:
    return TemplateInfo(
        id=row["id"], service_id=row["service_id"], template_type=row["template_type"], name=row["name"],
        subject=row["subject"], content=row["content"], postage=row["postage"],
        letter_contact_block=row["letter_contact_block"], archived=row["archived"],
        version=version if version is not None else row["version"], created_by=row["created_by"],
        created_at=row["created_at"], updated_at=row["updated_at"],
    )


async def get_template(engine: AsyncEngine, service_id: uuid.UUID, template_id: uuid.UUID) -> TemplateInfo | None:
    """The current version of one of the service's templates."""
    async with engine.connect() as connection:
        row = (await connection.execute(select(TEMPLATES).where(
            TEMPLATES.c.id == template_id, TEMPLATES.c.service_id == service_id))).mappings().first()
    return _template(row) if row is not None else None


async def get_template_version(engine: AsyncEngine, service_id: uuid.UUID, template_id: uuid.UUID,
                               version: int) -> TemplateInfo | None:
    """One stored version of one of the service's templates."""
    async with engine.connect() as connection:
        row = (await connection.execute(select(TEMPLATES_HISTORY).where(
            TEMPLATES_HISTORY.c.id == template_id, TEMPLATES_HISTORY.c.service_id == service_id,
            TEMPLATES_HISTORY.c.version == version))).mappings().first()
    return _template(row, version) if row is not None else None


async def list_template_versions(engine: AsyncEngine, service_id: uuid.UUID,
                                 template_id: uuid.UUID) -> list[TemplateInfo]:
    """Every version of one of the service's templates, newest first."""
    async with engine.connect() as connection:
        rows = (await connection.execute(select(TEMPLATES_HISTORY).where(
            TEMPLATES_HISTORY.c.id == template_id, TEMPLATES_HISTORY.c.service_id == service_id)
            .order_by(TEMPLATES_HISTORY.c.version.desc()))).mappings().all()
    return [_template(row, row["version"]) for row in rows]


async def list_templates(engine: AsyncEngine, service_id: uuid.UUID, template_type: str | None) -> list[TemplateInfo]:
    """The service's templates that are not archived, by name."""
    query = select(TEMPLATES).where(TEMPLATES.c.service_id == service_id, TEMPLATES.c.archived.is_(False))
    if template_type:
        query = query.where(TEMPLATES.c.template_type == template_type)
    async with engine.connect() as connection:
        rows = (await connection.execute(
            query.order_by(TEMPLATES.c.name, TEMPLATES.c.template_type))).mappings().all()
    return [_template(row) for row in rows]


async def get_notification(engine: AsyncEngine, service_id: uuid.UUID, notification_id: uuid.UUID) -> RowMapping | None:
    """One of the service's notifications, made with any key type."""
    async with engine.connect() as connection:
        return (await connection.execute(select(NOTIFICATIONS).where(
            NOTIFICATIONS.c.id == notification_id, NOTIFICATIONS.c.service_id == service_id))).mappings().first()


async def list_notifications(engine: AsyncEngine, service_id: uuid.UUID, *, key_type: str,
                             statuses: Sequence[str] = (), notification_types: Sequence[str] = (),
                             client_reference: str | None = None, older_than: uuid.UUID | None = None,
                             page_size: int) -> Sequence[RowMapping]:
    """A page of the service's notifications made with this key type, newest first.

    `older_than` pages by (created_at, id), so notifications made in the same microsecond are
    neither skipped nor repeated; an unknown `older_than` gives an empty page (as in Notify).
    """
    table = NOTIFICATIONS
    query = select(table).where(table.c.service_id == service_id, table.c.key_type == key_type)
    if statuses:
        query = query.where(table.c.status.in_(sorted(statuses)))
    if notification_types:
        query = query.where(table.c.notification_type.in_(sorted(notification_types)))
    if client_reference is not None:
        query = query.where(table.c.client_reference == client_reference)
    return await _newest_first(engine, table, query, service_id=service_id, older_than=older_than,
                               page_size=page_size)


async def list_received_texts(engine: AsyncEngine, service_id: uuid.UUID, *, older_than: uuid.UUID | None,
                              page_size: int) -> Sequence[RowMapping]:
    """A page of the text messages the service received, newest first."""
    query = select(INBOUND).where(INBOUND.c.service_id == service_id)
    return await _newest_first(engine, INBOUND, query, service_id=service_id, older_than=older_than,
                               page_size=page_size)


async def _newest_first(engine: AsyncEngine, table: Table, query: Select[Any], *, service_id: uuid.UUID,
                        older_than: uuid.UUID | None, page_size: int) -> Sequence[RowMapping]:
    """One page of `query`, newest first, after the row `older_than` of the same service (by created_at, id)."""
    async with engine.connect() as connection:
        if older_than is not None:
            anchor = (await connection.execute(select(table.c.created_at).where(
                table.c.id == older_than, table.c.service_id == service_id))).scalar()
            if anchor is None:
                return []
            query = query.where(or_(table.c.created_at < anchor,
                                    and_(table.c.created_at == anchor, table.c.id < older_than)))
        query = query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(page_size)
        return (await connection.execute(query)).mappings().all()
