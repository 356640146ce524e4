"""The sandbox's own HTTP endpoints, under /_sandbox/ (never behind a fault gate).

  GET  /_sandbox/faults                 every provider's fault settings
  GET  /_sandbox/faults/{provider}      one provider's
  POST /_sandbox/faults/{provider}      change some of them (JSON object); answers the result;
                                        400 {"error": ...} on any bad value, changing nothing
  GET  /_sandbox/stats                  counters per provider, and receipts still pending
  POST /_sandbox/reset                  faults off and counters to zero
  GET  /_sandbox/sns/certificate.pem    the certificate that verifies SNS signatures
"""

from __future__ import annotations

import logging

import orjson
from aiohttp import web

from clarion.sandbox.faults import InvalidFaultSettings, UnknownProvider
from clarion.sandbox.replies import json_reply
from clarion.sandbox.sns_signing import CERTIFICATE_PATH
from clarion.sandbox.state import SandboxState

__all__ = ["FAULTS_PATH", "STATS_PATH", "routes"]

logger = logging.getLogger(__name__)

FAULTS_PATH = "/_sandbox/faults"
STATS_PATH = "/_sandbox/stats"
RESET_PATH = "/_sandbox/reset"


def routes(state: SandboxState) -> list[web.RouteDef]:
    """The control endpoints."""
    control = Control(state)
    return [
        web.get(FAULTS_PATH, control.all_faults),
        web.get(FAULTS_PATH + "/{provider}", control.provider_faults),
        web.post(FAULTS_PATH + "/{provider}", control.change_faults),
        web.get(STATS_PATH, control.stats),
        web.post(RESET_PATH, control.reset),
        web.get(CERTIFICATE_PATH, control.certificate),
    ]


def control_error(status: int, message: str) -> web.Response:
    """A refusal from the control endpoint."""
    return json_reply({"error": message}, status)


class Control:
    """Handlers for the control endpoints."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state

    async def all_faults(self, request: web.Request) -> web.Response:
        """Every provider's fault settings."""
        return json_reply(self._state.faults.as_json())

    async def provider_faults(self, request: web.Request) -> web.Response:
        """One provider's fault settings."""
        provider = request.match_info["provider"]
        try:
            settings = self._state.faults.of(provider)
        except UnknownProvider as error:
            return control_error(404, str(error))
        return json_reply(settings.as_json(self._state.faults.receipt_delay_s(provider)))

    async def change_faults(self, request: web.Request) -> web.Response:
        """Change some of a provider's fault settings."""
        provider = request.match_info["provider"]
        try:
            changes = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return control_error(400, "the body must be a JSON object of fault settings")
        faults = self._state.faults
        try:
            settings = faults.change(provider, changes)
        except UnknownProvider as error:
            return control_error(404, str(error))
        except InvalidFaultSettings as error:
            return control_error(400, str(error))
        shown = settings.as_json(faults.receipt_delay_s(provider))
        logger.info("sandbox faults changed", extra={"provider_name": provider, "faults": shown})
        return json_reply(shown)

    async def stats(self, request: web.Request) -> web.Response:
        """Counters per provider, and how many receipts are waiting or in flight."""
        return json_reply({"providers": self._state.stats.as_json(),
                           "receipts_pending": self._state.receipts.pending})

    async def reset(self, request: web.Request) -> web.Response:
        """Faults off, counters to zero."""
        self._state.faults.reset()
        self._state.stats.reset()
        logger.info("sandbox faults and counters reset")
        return json_reply({"faults": self._state.faults.as_json(), "stats": self._state.stats.as_json()})

    async def certificate(self, request: web.Request) -> web.Response:
        """The PEM certificate whose key signs the sandbox's SNS messages."""
        return web.Response(body=self._state.signer.certificate_pem, content_type="application/x-pem-file")
