"""GET /v2/received-text-messages: the text messages the service's users sent it, newest first."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from clarion.api import store
from clarion.api.deps import Api, AuthenticatedService
from clarion.api.responses import JsonResponse
from clarion.api.v2 import requests, serialise

__all__ = ["router"]

router = APIRouter()


@router.get("/v2/received-text-messages")
async def get_received_texts(request: Request, caller: AuthenticatedService, api: Api) -> Response:
    """A page of received text messages; `links.next` pages on with older_than."""
    older_than = requests.parse_older_than_query(request.query_params.multi_items())
    rows = await store.list_received_texts(api.engine, caller.service.id, older_than=older_than,
                                           page_size=api.settings.api_page_size)
    base = f"{serialise.root_url(api.settings.api_host_name)}v2/received-text-messages"
    links = {"current": base}
    if rows:
        links["next"] = f"{base}?{urlencode({'older_than': str(rows[-1]['id'])})}"
    return JsonResponse({"received_text_messages": [serialise.received_text(row) for row in rows], "links": links})
