"""JSON responses rendered with orjson, and the date format Notify's API uses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["DATETIME_FORMAT", "JsonResponse", "format_datetime", "notify_error_body"]

DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class JsonResponse(Response):
    """A JSON response serialised by orjson (UUIDs included)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def format_datetime(value: datetime | None) -> str | None:
    """A UTC datetime as Notify shows it, e.g. 2026-01-05T09:00:00.000000Z."""
    return value.strftime(DATETIME_FORMAT) if value is not None else None


def notify_error_body(status_code: int, errors: list[dict[str, str]]) -> dict[str, Any]:
    """Notify's v2 error body."""
    return {"status_code": status_code, "errors": errors}
