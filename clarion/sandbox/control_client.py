"""The client side of the control endpoint, for `clarion sandbox set`: one request, a clear refusal.

Standard library only, so the command starts fast and needs no event loop.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from clarion.sandbox.control import FAULTS_PATH

__all__ = ["ControlError", "provider_faults"]

TIMEOUT_S = 10.0


class ControlError(Exception):
    """The sandbox could not be reached, or refused the change; the message says which and why."""


def provider_faults(base_url: str, provider: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply `changes` (none: just read) to `provider`'s faults; its resulting settings."""
    url = f"{base_url.rstrip('/')}{FAULTS_PATH}/{urllib.parse.quote(provider, safe='')}"
    request = urllib.request.Request(url, method="GET")
    if changes:
        request = urllib.request.Request(url, data=json.dumps(changes).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as refusal:
        raise ControlError(f"the sandbox refused: {_error_text(refusal)}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ControlError(f"the sandbox is not running at {base_url} ({reason}); start it with `clarion sandbox`"
                           ) from None


def _error_text(refusal: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(refusal.read())["error"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {refusal.code}"
