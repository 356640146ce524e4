"""POST and GET /v2/notifications: send a text message, email or letter; read one or a page of them."""

from __future__ import annotations

import asyncio
import logging
import uuid
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy.engine import RowMapping
from starlette.responses import Response

from clarion.api import store
from clarion.api.context import ApiContext
from clarion.api.deps import Api, AuthenticatedService
from clarion.api.errors import BadRequest, NoResultFound, PDFNotReady
from clarion.api.responses import JsonResponse
from clarion.api.v2 import requests, serialise, sending
from clarion.delivery import status as statuses
from clarion.delivery.intake import PrecompiledLetterRequest
from clarion.letters import StorageError, letter_key

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v2/notifications")


@router.post("/sms", status_code=201)
async def post_sms(request: Request, caller: AuthenticatedService, api: Api) -> Response:
    """Accept a text message; a worker hands it to a provider."""
    body = requests.parse_sms(await requests.read_json(request), now=api.clock.now())
    return JsonResponse(await sending.send(api, caller, body), status_code=201)


@router.post("/email", status_code=201)
async def post_email(request: Request, caller: AuthenticatedService, api: Api) -> Response:
    """Accept an email; a worker hands it to a provider."""
    body = requests.parse_email(await requests.read_json(request), now=api.clock.now())
    return JsonResponse(await sending.send(api, caller, body), status_code=201)


@router.post("/letter", status_code=201)
async def post_letter(request: Request, caller: AuthenticatedService, api: Api) -> Response:
    """Accept a letter: from a template, or a precompiled PDF (a body with `content`); a worker prepares it."""
    body = requests.parse_letter(await requests.read_json(request))
    if isinstance(body, PrecompiledLetterRequest):
        return JsonResponse(await sending.send_precompiled_letter(api, caller, body), status_code=201)
    return JsonResponse(await sending.send(api, caller, body), status_code=201)


@router.get("/{notification_id}")
async def get_notification(notification_id: str, caller: AuthenticatedService, api: Api) -> Response:
    """One notification of the caller's service, made with any key type."""
    row = await _notification(api, caller.service.id, notification_id)
    return JsonResponse(serialise.notification(row, root=serialise.root_url(api.settings.api_host_name)))


@router.get("/{notification_id}/pdf")
async def get_pdf(notification_id: str, caller: AuthenticatedService, api: Api) -> Response:
    """A letter's PDF once it exists; PDFNotReadyError until then (Notify's answers for the other cases)."""
    row = await _notification(api, caller.service.id, notification_id)
    if row["notification_type"] != "letter":
        raise BadRequest("Notification is not a letter")
    if row["status"] == statuses.VIRUS_SCAN_FAILED:
        raise BadRequest("File did not pass the virus scan")
    if row["status"] == statuses.TECHNICAL_FAILURE:
        raise BadRequest(f"PDF not available for letters in status {row['status']}")
    if row["status"] == statuses.PENDING_VIRUS_CHECK:
        raise PDFNotReady()
    # A refused letter's PDF stays in the scan store (Notify's invalid-PDF bucket); the others are in the PDF store.
    store = api.letters.scan if row["status"] == statuses.VALIDATION_FAILED else api.letters.pdf
    try:
        pdf = await asyncio.to_thread(store.get, letter_key(row["id"]))
    except StorageError as exc:
        log.warning("letter PDF could not be read", extra={"notification_id": str(row["id"]), "error": str(exc)})
        raise PDFNotReady() from None
    if pdf is None:
        raise PDFNotReady()
    return Response(pdf, media_type="application/pdf")


async def _notification(api: ApiContext, service_id: uuid.UUID, notification_id: str) -> RowMapping:
    parsed = requests.parse_path_uuid(notification_id, "notification_id")
    row = await store.get_notification(api.engine, service_id, parsed)
    if row is None:
        raise NoResultFound()
    return row


@router.get("")
async def list_notifications(request: Request, caller: AuthenticatedService, api: Api) -> Response:
    """A page of the service's notifications made with the caller's key type, newest first."""
    query = requests.parse_list_query(request.query_params.multi_items())
    rows = await store.list_notifications(
        api.engine, caller.service.id, key_type=caller.key_type,
        statuses=sorted(statuses.expand_filter(list(query.statuses))), notification_types=query.template_types,
        client_reference=query.reference, older_than=query.older_than, page_size=api.settings.api_page_size)
    root = serialise.root_url(api.settings.api_host_name)
    base = f"{root}v2/notifications"
    links = {"current": _url(base, query.pairs)}
    if rows:
        links["next"] = _url(base, _with_older_than(query.pairs, str(rows[-1]["id"])))
    return JsonResponse({"notifications": [serialise.notification(row, root=root) for row in rows], "links": links})


def _url(base: str, pairs: tuple[tuple[str, str], ...]) -> str:
    return f"{base}?{urlencode(pairs)}" if pairs else base


def _with_older_than(pairs: tuple[tuple[str, str], ...], older_than: str) -> tuple[tuple[str, str], ...]:
    # Notify's dict(data, older_than=last_id): the value is replaced in place, or added at the end.
    if any(name == "older_than" for name, _ in pairs):
        return tuple((name, older_than if name == "older_than" else value) for name, value in pairs)
    return (*pairs, ("older_than", older_than))
