"""JSON answers for the simulated providers, serialised with orjson (the hot path answers hundreds a second)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

__all__ = ["json_reply"]


def json_reply(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """`data` as an application/json response."""
    return web.Response(body=orjson.dumps(data), status=status, headers=headers,
                        content_type="application/json")
