"""API keys: create (the only time the full key is shown) and revoke."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from clarion.crypto import SecretBox
from clarion.db.models import KEY_TYPES, ApiKey, Service
from clarion.manage.errors import ManageError, NotFound, check_name


@dataclass(frozen=True)
class CreatedKey:
    """A new key and the one string the caller must keep: `<name>-<service id>-<secret>`."""

    key: ApiKey
    api_key: str


def create_api_key(session: Session, service: Service, *, key_type: str, name: str, box: SecretBox,
                   now: datetime) -> CreatedKey:
    """A new key of the given type; the secret is stored encrypted and returned once in `api_key`."""
    if key_type not in KEY_TYPES:
        raise ManageError(f"key type must be one of {list(KEY_TYPES)}, not {key_type!r}")
    check_name(name, "an API key")
    secret = str(uuid.uuid4())
    key = ApiKey(id=uuid.uuid4(), service_id=service.id, name=name, key_type=key_type,
                 secret=box.encrypt(secret), created_at=now)
    session.add(key)
    session.flush()
    return CreatedKey(key=key, api_key=f"{name}-{service.id}-{secret}")


def revoke_api_key(session: Session, key_id: uuid.UUID, *, now: datetime) -> ApiKey:
    """Revoke a key; requests signed with it get 403 'API key revoked' from then on."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key with id {key_id}")
    if key.expiry_date is None:
        key.expiry_date = now
    session.flush()
    return key


def serialise_key(key: ApiKey, api_key: str | None = None) -> dict[str, object]:
    """A key as JSON; the full key string only when it was just created."""
    data: dict[str, object] = {
        "id": str(key.id), "service_id": str(key.service_id), "name": key.name, "key_type": key.key_type,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.expiry_date.isoformat() if key.expiry_date else None,
    }
    if api_key is not None:
        data["api_key"] = api_key
    return data
