"""GET /v2/template(s) and the preview; plus the template-versions route the Python client calls.

`get_all_template_versions` in notifications-python-client calls `service/{service_id}/template/
{template_id}/versions` (no /v2, relative to the base URL), so clarion serves it with the same JWT
authentication, for the caller's own service only.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException
from starlette.responses import Response

from clarion import templates as rendering
from clarion.api import store
from clarion.api.context import ApiContext
from clarion.api.deps import Api, AuthenticatedService
from clarion.api.errors import NoResultFound
from clarion.api.responses import JsonResponse
from clarion.api.v2 import requests, serialise
from clarion.delivery.intake import TemplateInfo

__all__ = ["router"]

router = APIRouter()


@router.get("/v2/template/{template_id}")
async def get_template(template_id: str, caller: AuthenticatedService, api: Api) -> Response:
    """The current version of one of the service's templates."""
    info = await _current(api, caller.service.id, template_id)
    return JsonResponse(serialise.template(info))


@router.get("/v2/template/{template_id}/version/{version}")
async def get_template_version(template_id: str, version: str, caller: AuthenticatedService, api: Api) -> Response:
    """One version of one of the service's templates."""
    if not version.isascii() or not version.isdigit():
        # Notify's route is `/version/<int:version>`: anything else matches no route at all.
        raise HTTPException(status_code=404)
    parsed = requests.parse_path_uuid(template_id, "id")
    if len(version) > 9:
        raise NoResultFound()
    info = await store.get_template_version(api.engine, caller.service.id, parsed, int(version))
    if info is None:
        raise NoResultFound()
    return JsonResponse(serialise.template(info))


@router.get("/v2/templates")
async def list_templates(request: Request, caller: AuthenticatedService, api: Api) -> Response:
    """The service's templates, optionally of one type."""
    template_type = requests.parse_template_type_query(request.query_params.multi_items())
    rows = await store.list_templates(api.engine, caller.service.id, template_type)
    return JsonResponse({"templates": [serialise.template(info) for info in rows]})


@router.post("/v2/template/{template_id}/preview")
async def preview_template(template_id: str, request: Request, caller: AuthenticatedService, api: Api) -> Response:
    """The template filled with the given personalisation."""
    # Notify validates the body (and the id) before it looks the template up.
    raw = await request.body()
    personalisation = requests.parse_preview(await requests.read_json(request)) if raw else None
    info = await _current(api, caller.service.id, template_id)
    # Notify previews the filled template without the service-name prefix sends add.
    shown = rendering.preview(info.template_type, info.subject, info.content, personalisation)
    return JsonResponse(serialise.template_preview(info, shown))


@router.get("/service/{service_id}/template/{template_id}/versions")
async def list_template_versions(service_id: str, template_id: str, caller: AuthenticatedService,
                                 api: Api) -> Response:
    """Every version of one of the caller's templates, newest first, as `{"data": [...]}`."""
    parsed_service = requests.parse_path_uuid(service_id, "service_id")
    parsed_template = requests.parse_path_uuid(template_id, "template_id")
    if parsed_service != caller.service.id:
        raise NoResultFound()
    versions = await store.list_template_versions(api.engine, caller.service.id, parsed_template)
    if not versions:
        raise NoResultFound()
    return JsonResponse({"data": [serialise.template_version(info) for info in versions]})


async def _current(api: ApiContext, service_id: uuid.UUID, template_id: str) -> TemplateInfo:
    parsed = requests.parse_path_uuid(template_id, "id")  # Notify's schema calls the template id `id`
    info = await store.get_template(api.engine, service_id, parsed)
    if info is None:
        raise NoResultFound()
    return info
