"""The operator API under /admin: the same operations as the operator commands of the CLI, over HTTP.

Callers sign an HS256 JWT with ADMIN_CLIENT_SECRET, `iss` = "clarion-admin" and `iat` within 30 s,
and send it as `Authorization: Bearer <token>`. Every error, authentication and validation included,
is answered with Notify's body `{"status_code": N, "errors": [{"error": ..., "message": ...}]}` by this
router's own route class, so the router works in any FastAPI app without extra handlers.

Handlers are plain functions (FastAPI runs them in its threadpool) on `app.state.sessions` (a sync
sessionmaker), `app.state.clock` and `app.state.settings`.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, Literal

import jwt
from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, IntegrityError

from clarion.clock import Clock
from clarion.config import Settings
from clarion.crypto import SecretBox
from clarion.manage import keys, providers, senders, services, templates
from clarion.manage.errors import ManageError, NotFound
from clarion.recipients.errors import InvalidRecipient

__all__ = ["ADMIN_ISSUER", "AdminError", "router"]

ADMIN_ISSUER = "clarion-admin"
CLOCK_SKEW_S = 30
ACTOR = "admin-api"

log = logging.getLogger(__name__)


class AdminError(Exception):
    """An operator API error, answered with Notify's error body."""

    def __init__(self, status_code: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status_code, self.error, self.message = status_code, error, message


def notify_error(status_code: int, errors: list[dict[str, str]]) -> JSONResponse:
    """Notify's error body with the given status."""
    return JSONResponse({"status_code": status_code, "errors": errors}, status_code=status_code)


def _validation_messages(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for problem in exc.errors():
        where = ".".join(str(part) for part in problem.get("loc", ())[1:]) or "body"
        errors.append({"error": "ValidationError", "message": f"{where}: {problem.get('msg', 'is not valid')}"})
    return errors or [{"error": "ValidationError", "message": "the request body is not valid"}]


def _error_response(exc: Exception) -> JSONResponse:
    if isinstance(exc, AdminError):
        return notify_error(exc.status_code, [{"error": exc.error, "message": exc.message}])
    if isinstance(exc, RequestValidationError):
        return notify_error(400, _validation_messages(exc))
    if isinstance(exc, NotFound):
        return notify_error(404, [{"error": "NoResultFound", "message": str(exc)}])
    if isinstance(exc, ManageError | InvalidRecipient):
        return notify_error(400, [{"error": "BadRequestError", "message": str(exc)}])
    if isinstance(exc, IntegrityError):
        return notify_error(400, [{"error": "BadRequestError", "message": "that already exists"}])
    if isinstance(exc, DataError):  # PostgreSQL refused a value: too long, out of range, a NUL character
        return notify_error(400, [{"error": "BadRequestError",
                                   "message": "a value is too long, out of range or has characters the database refuses"}])
    log.exception("operator API request failed")
    return notify_error(500, [{"error": "Exception", "message": "Internal server error"}])


class AdminRoute(APIRoute):
    """A route whose every failure becomes Notify's error body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The normal handler, wrapped so errors from auth, validation and the operation are rendered."""
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except (AdminError, RequestValidationError, ManageError, InvalidRecipient, IntegrityError,
                    DataError) as exc:
                return _error_response(exc)
            except Exception as exc:  # noqa: BLE001 - the last line: log, never leak the text
                return _error_response(exc)

        return handle


def require_admin(request: Request) -> None:
    """Let the request through only with a valid operator JWT."""
    header = request.headers.get("authorization")
    if not header:
        raise AdminError(401, "AuthError", "Unauthorized: authentication token must be provided")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AdminError(401, "AuthError", "Unauthorized: authentication bearer scheme must be used")
    settings: Settings = request.app.state.settings
    clock: Clock = request.app.state.clock
    claims = _decode(token.strip(), settings.admin_client_secret.get_secret_value())
    if claims.get("iss") != ADMIN_ISSUER:
        raise AdminError(403, "AuthError", f"Invalid token: iss must be {ADMIN_ISSUER!r}")
    issued_at = claims.get("iat")
    # bool is an int, and JSON may carry NaN or Infinity, which compare as never stale: refuse them all.
    if isinstance(issued_at, bool) or not isinstance(issued_at, int | float) or not math.isfinite(issued_at):
        raise AdminError(403, "AuthError", "Invalid token: iat field not provided")
    if abs(clock.now().timestamp() - issued_at) > CLOCK_SKEW_S:
        raise AdminError(403, "AuthError", "Error: Your system clock must be accurate to within 30 seconds")


def _decode(token: str, secret: str) -> dict[str, Any]:
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError:
        raise AdminError(403, "AuthError", "Invalid token: not a JWT") from None
    if algorithm != "HS256":
        raise AdminError(403, "AuthError", "Invalid token: algorithm used is not HS256")
    try:
        # iat is checked against the injected clock above, not against the machine's time.
        return jwt.decode(token, secret, algorithms=["HS256"],
                          options={"verify_iat": False, "verify_exp": False, "verify_nbf": False})
    except jwt.PyJWTError:
        raise AdminError(403, "AuthError", "Invalid token: signature does not match ADMIN_CLIENT_SECRET") from None


router = APIRouter(prefix="/admin", route_class=AdminRoute, dependencies=[Depends(require_admin)],
                   tags=["operator"])


# Each handler opens its own transaction, so an error rolls everything back before the reply.
def _begin(request: Request) -> Any:
    return request.app.state.sessions.begin()


def _now(request: Request) -> Any:
    return request.app.state.clock.now()


class Body(BaseModel):
    """A request body: unknown fields are refused, so typos are reported instead of ignored."""

    model_config = ConfigDict(extra="forbid")


class ServiceCreate(Body):
    name: str
    restricted: bool = False
    prefix_sms: bool | None = None
    rate_limit: int | None = Field(default=None, ge=1)
    permissions: list[str] | None = None


class ServiceUpdate(Body):
    name: str | None = None
    active: bool | None = None
    restricted: bool | None = None
    prefix_sms: bool | None = None
    rate_limit: int | None = Field(default=None, ge=1)
    sms_message_limit: int | None = Field(default=None, ge=0)
    email_message_limit: int | None = Field(default=None, ge=0)
    letter_message_limit: int | None = Field(default=None, ge=0)
    international_sms_message_limit: int | None = Field(default=None, ge=0)
    permissions: list[str] | None = None


class KeyCreate(Body):
    key_type: Literal["normal", "team", "test"]
    name: str


class TemplateCreate(Body):
    type: Literal["sms", "email", "letter"]
    name: str
    body: str
    subject: str | None = None
    postage: str | None = None
    letter_contact_block: str | None = None
    created_by: str | None = None


class TemplateUpdate(Body):
    name: str | None = None
    body: str | None = None
    subject: str | None = None
    postage: str | None = None
    letter_contact_block: str | None = None
    archived: bool | None = None


class SmsSenderCreate(Body):
    sms_sender: str
    is_default: bool = False


class ReplyToCreate(Body):
    email_address: str
    is_default: bool = False


class GuestListAdd(Body):
    recipient: str


class ProviderUpdate(Body):
    reason: str
    priority: int | None = None
    active: bool | None = None
    notification_type: Literal["sms", "email", "letter"] | None = None


def _set_fields(body: BaseModel) -> dict[str, Any]:
    return {name: value for name, value in body.model_dump(exclude_unset=True).items() if value is not None}


@router.post("/services", status_code=201)
def create_service(body: ServiceCreate, request: Request) -> dict[str, Any]:
    """Create a service (with a default SMS sender)."""
    fields = _set_fields(body)
    with _begin(request) as session:
        service = services.create_service(session, now=_now(request), **fields)
        return services.serialise_service(service)


@router.get("/services/{service_id}")
def get_service(service_id: uuid.UUID, request: Request) -> dict[str, Any]:
    """A service's settings."""
    with _begin(request) as session:
        return services.serialise_service(services.get_service(session, service_id))


@router.post("/services/{service_id}")
def update_service(service_id: uuid.UUID, body: ServiceUpdate, request: Request) -> dict[str, Any]:
    """Change the given fields of a service."""
    with _begin(request) as session:
        service = services.get_service(session, service_id)
        services.update_service(session, service, now=_now(request), **_set_fields(body))
        return services.serialise_service(service)


@router.post("/services/{service_id}/api-keys", status_code=201)
def create_api_key(service_id: uuid.UUID, body: KeyCreate, request: Request) -> dict[str, Any]:
    """Create an API key; the reply is the only place the full key appears."""
    box = SecretBox(request.app.state.settings.secret_key.get_secret_value())
    with _begin(request) as session:
        service = services.get_service(session, service_id)
        created = keys.create_api_key(session, service, key_type=body.key_type, name=body.name, box=box,
                                      now=_now(request))
        return keys.serialise_key(created.key, created.api_key)


@router.post("/api-keys/{key_id}/revoke")
def revoke_api_key(key_id: uuid.UUID, request: Request) -> dict[str, Any]:
    """Revoke an API key."""
    with _begin(request) as session:
        return keys.serialise_key(keys.revoke_api_key(session, key_id, now=_now(request)))


@router.post("/services/{service_id}/templates", status_code=201)
def create_template(service_id: uuid.UUID, body: TemplateCreate, request: Request) -> dict[str, Any]:
    """Create a template at version 1."""
    with _begin(request) as session:
        service = services.get_service(session, service_id)
        template = templates.create_template(
            session, service, template_type=body.type, name=body.name, content=body.body, subject=body.subject,
            postage=body.postage, letter_contact_block=body.letter_contact_block, created_by=body.created_by,
            now=_now(request))
        return templates.serialise_template(template)


@router.post("/templates/{template_id}")
def update_template(template_id: uuid.UUID, body: TemplateUpdate, request: Request) -> dict[str, Any]:
    """Change a template, making a new version."""
    fields = _set_fields(body)
    if "body" in fields:
        fields["content"] = fields.pop("body")
    with _begin(request) as session:
        template = templates.get_template(session, template_id)
        return templates.serialise_template(templates.update_template(session, template, now=_now(request),
                                                                      **fields))


@router.post("/services/{service_id}/sms-senders", status_code=201)
def create_sms_sender(service_id: uuid.UUID, body: SmsSenderCreate, request: Request) -> dict[str, Any]:
    """Add an SMS sender to a service."""
    with _begin(request) as session:
        service = services.get_service(session, service_id)
        row = senders.create_sms_sender(session, service, sender=body.sms_sender, is_default=body.is_default,
                                        now=_now(request))
        return senders.serialise_sms_sender(row)


@router.post("/services/{service_id}/reply-to", status_code=201)
def create_reply_to(service_id: uuid.UUID, body: ReplyToCreate, request: Request) -> dict[str, Any]:
    """Add an email reply-to address to a service."""
    with _begin(request) as session:
        service = services.get_service(session, service_id)
        row = senders.create_reply_to(session, service, email_address=body.email_address,
                                      is_default=body.is_default, now=_now(request))
        return senders.serialise_reply_to(row)


@router.post("/services/{service_id}/guest-list", status_code=201)
def add_to_guest_list(service_id: uuid.UUID, body: GuestListAdd, request: Request) -> dict[str, Any]:
    """Let the service send to this recipient in trial mode or with a team key."""
    with _begin(request) as session:
        service = services.get_service(session, service_id)
        entry = services.add_to_guest_list(session, service, body.recipient, now=_now(request))
        return serialise_guest(entry)


def serialise_guest(entry: Any) -> dict[str, Any]:
    """A guest list entry as JSON."""
    return {"id": str(entry.id), "service_id": str(entry.service_id), "recipient_type": entry.recipient_type,
            "recipient": entry.recipient}


@router.get("/providers")
def list_providers(request: Request) -> dict[str, Any]:
    """Every provider with its priority (its weight, for SMS) and active flag."""
    with _begin(request) as session:
        return {"providers": [providers.serialise_provider(p) for p in providers.list_providers(session)]}


@router.get("/providers/{identifier}")
def get_provider(identifier: str, request: Request,
                 notification_type: str | None = None) -> dict[str, Any]:
    """One provider and its last versions, newest first."""
    with _begin(request) as session:
        provider = providers.get_provider(session, identifier, notification_type)
        history = providers.history(session, provider=provider)
        return {**providers.serialise_provider(provider),
                "history": [providers.serialise_provider(row) for row in history]}


@router.post("/providers/{identifier}")
def set_provider(identifier: str, body: ProviderUpdate, request: Request) -> dict[str, Any]:
    """Set a provider's priority or active flag by hand, with a reason."""
    with _begin(request) as session:
        provider = providers.get_provider(session, identifier, body.notification_type)
        resting = request.app.state.settings.sms_provider_resting_points
        changes = providers.set_provider(session, provider, reason=body.reason, actor=ACTOR, now=_now(request),
                                         priority=body.priority, active=body.active, resting=resting)
        changed = providers.serialise_provider(provider)
    return {**changed, "changes": [change.to_json() for change in changes]}
