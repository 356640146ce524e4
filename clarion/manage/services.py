"""Services: create, read, change, and their guest list."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clarion.db.models import PERMISSIONS, GuestListRecipient, Service, SmsSender
from clarion.manage.errors import ManageError, NotFound, check_count, check_name
from clarion.recipients import email as email_addresses
from clarion.recipients import phone as phone_numbers

COUNTS = {"rate_limit", "sms_message_limit", "email_message_limit", "letter_message_limit",
          "international_sms_message_limit"}
CHANGEABLE = {
    "name", "active", "restricted", "prefix_sms", "rate_limit", "sms_message_limit", "email_message_limit",
    "letter_message_limit", "international_sms_message_limit", "permissions",
}


def _local_part(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".") or "service"


def create_service(session: Session, *, name: str, restricted: bool = False, now: datetime,
                   default_sms_sender: str = "CLARION", **fields: Any) -> Service:
    """A new service with Notify's defaults and a default SMS sender."""
    check_name(name, "a service")
    if session.scalar(select(Service).where(Service.name == name)) is not None:
        raise ManageError(f"a service called {name!r} already exists; choose another name")
    service = Service(id=uuid.uuid4(), name=name, restricted=restricted, email_sender_local_part=_local_part(name),
                      created_at=now)
    session.add(service)
    update_service(session, service, now=now, **fields) if fields else None
    session.add(SmsSender(id=uuid.uuid4(), service_id=service.id, sms_sender=default_sms_sender, is_default=True,
                          created_at=now))
    session.flush()
    return service


def get_service(session: Session, service_id: uuid.UUID | str) -> Service:
    """The service with this id, or NotFound."""
    service = session.get(Service, _uuid(service_id, "service"))
    if service is None:
        raise NotFound(f"no service with id {service_id}")
    return service


def update_service(session: Session, service: Service, *, now: datetime, **fields: Any) -> Service:
    """Change the named fields of a service."""
    unknown = set(fields) - CHANGEABLE
    if unknown:
        raise ManageError(f"cannot change {sorted(unknown)}; changeable fields are {sorted(CHANGEABLE)}")
    if "name" in fields:
        check_name(fields["name"], "a service")
    for limit in COUNTS & set(fields):
        check_count(fields[limit], limit)
    if "permissions" in fields:
        bad = set(fields["permissions"]) - set(PERMISSIONS)
        if bad:
            raise ManageError(f"unknown permissions {sorted(bad)}; choose from {list(PERMISSIONS)}")
    for name, value in fields.items():
        setattr(service, name, value)
    service.updated_at = now
    session.flush()
    return service


def add_to_guest_list(session: Session, service: Service, recipient: str, *, now: datetime) -> GuestListRecipient:
    """Let a trial-mode service, or a team key, send to this phone number or email address."""
    if "@" in recipient:
        kind, normalised = "email", email_addresses.validate_email_address(recipient)
    else:
        kind, normalised = "mobile", phone_numbers.validate_phone_number(recipient).normalised
    entry = GuestListRecipient(id=uuid.uuid4(), service_id=service.id, recipient_type=kind, recipient=normalised,
                               created_at=now)
    session.add(entry)
    session.flush()
    return entry


def _uuid(value: uuid.UUID | str, what: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ManageError(f"{what} id {value!r} is not a valid UUID") from None


def serialise_service(service: Service) -> dict[str, Any]:
    """A service as JSON for the CLI and the operator API."""
    return {
        "id": str(service.id), "name": service.name, "active": service.active, "restricted": service.restricted,
        "prefix_sms": service.prefix_sms, "rate_limit": service.rate_limit,
        "sms_message_limit": service.sms_message_limit, "email_message_limit": service.email_message_limit,
        "letter_message_limit": service.letter_message_limit,
        "international_sms_message_limit": service.international_sms_message_limit,
        "permissions": list(service.permissions), "created_at": service.created_at.isoformat(),
    }
