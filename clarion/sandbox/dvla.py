"""Simulated DVLA print API: authenticate, print jobs, and the despatch callback.

`POST /thirdparty-access/v1/authenticate` with `{"userName", "password"}` answers
`{"id-token": <JWT>}`, valid for an hour on the sandbox's clock. The sandbox does not know clarion's
credentials: any non-empty pair is accepted (as the simulated MMG accepts any API key); a missing
or empty one gets 401 with DVLA's bare list of errors.

`POST /print-request/v1/print/jobs` needs `Authorization: <that JWT>` (raw, no "Bearer"; missing,
forged or expired -> 401) and a non-empty `X-API-Key` (missing -> 403), and a body in the documented
format (clarion.sandbox.dvla_print_job; anything else -> 400 with one `errors[].detail` per problem).
It answers 202 `{"id": <job id>}`; a job id seen before gets 409. After the receipt delay
(SANDBOX_RECEIPT_DELAY_S, or the `dvla` provider's `receipt_delay_s` fault setting) the sandbox
posts a DESPATCHED status callback (clarion.sandbox.dvla_events) to the job's callbackParams.target,
retrying like every sandbox receipt; the fail_receipts fault makes it REJECTED instead.

Faults apply to print jobs like any provider's requests; `down` also takes authenticate down.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from datetime import timedelta
from typing import Any

import jwt
import orjson
from aiohttp import web

from clarion.sandbox import dvla_events
from clarion.sandbox.dvla_print_job import PrintJobRefused, read_print_job, sheet_count
from clarion.sandbox.faults import Fault
from clarion.sandbox.gate import guarded
from clarion.sandbox.receipts import ReceiptPost, ReceiptTarget
from clarion.sandbox.recent import RecentKeys
from clarion.sandbox.replies import json_reply
from clarion.sandbox.state import SandboxState

__all__ = ["AUTHENTICATE_PATH", "NAME", "PRINT_JOBS_PATH", "routes"]

logger = logging.getLogger(__name__)

NAME = "dvla"
AUTHENTICATE_PATH = "/thirdparty-access/v1/authenticate"
PRINT_JOBS_PATH = "/print-request/v1/print/jobs"
TOKEN_LIFETIME = timedelta(hours=1)
CALLBACK_HEADERS = {"Content-Type": "application/json"}
# A print job carries its PDF in base64, often more than aiohttp's 1 MiB default request limit, so
# this endpoint reads its body itself, up to this much.
MAX_PRINT_JOB_BYTES = 20 * 1024 * 1024
FAULT_ANSWERS = {
    Fault.DOWN: (503, "Service Unavailable", "The print service is unavailable; try again later"),
    Fault.TIMEOUT: (504, "Gateway Timeout", "The print service did not answer in time"),
    Fault.THROTTLE: (429, "Too Many Requests", "Rate limit exceeded"),
    Fault.ERROR: (500, "Internal Server Error", "An unexpected error occurred"),
}


def routes(state: SandboxState) -> list[web.RouteDef]:
    """DVLA's authenticate and print job endpoints; print jobs behind the fault gate."""
    api = DvlaApi(state)
    return [web.post(AUTHENTICATE_PATH, api.authenticate),
            web.post(PRINT_JOBS_PATH, guarded(state, NAME, fault_reply, api.create_print_job))]


def dvla_errors(status: int, title: str, details: list[str]) -> list[dict[str, Any]]:
    """DVLA's error objects, one per detail."""
    return [{"status": str(status), "title": title, "detail": detail} for detail in details]


def fault_reply(fault: Fault) -> web.Response:
    """How DVLA answers when it is down, slow, throttling or failing."""
    status, title, detail = FAULT_ANSWERS[fault]
    return json_reply({"errors": dvla_errors(status, title, [detail])}, status)


class DvlaApi:
    """The simulated endpoints: tokens, duplicate protection, callbacks."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self._signing_key = secrets.token_hex(32)  # tokens are good only for this sandbox run
        self._jobs: RecentKeys[bool] = RecentKeys()

    async def authenticate(self, request: web.Request) -> web.Response:
        """Exchange a user name and password for a JWT."""
        if self._state.faults.of(NAME).down:
            return fault_reply(Fault.DOWN)
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return json_reply(dvla_errors(400, "Bad Request", ["the request body must be JSON"]), 400)
        user = body.get("userName") if isinstance(body, dict) else None
        password = body.get("password") if isinstance(body, dict) else None
        if not isinstance(user, str) or not user or not isinstance(password, str) or not password:
            return json_reply(dvla_errors(401, "Authentication Failure",
                                          ["userName and password are required"]), 401)
        now = self._state.clock.now()
        token = jwt.encode({"sub": user, "iat": int(now.timestamp()), "exp": int((now + TOKEN_LIFETIME).timestamp())},
                           self._signing_key, algorithm="HS256")
        return json_reply({"id-token": token})

    async def create_print_job(self, request: web.Request) -> web.Response:
        """Accept one print job and schedule its status callback, or say why not."""
        stats = self._state.stats.of(NAME)
        refusal = self._authorisation_refusal(request)
        if refusal is not None:
            stats.rejected += 1
            return refusal
        raw = await _read_body(request, MAX_PRINT_JOB_BYTES)
        if raw is None:
            stats.rejected += 1
            return json_reply({"errors": dvla_errors(413, "Payload Too Large", [
                f"a print job may be at most {MAX_PRINT_JOB_BYTES // (1024 * 1024)} MiB"])}, 413)
        try:
            job = read_print_job(orjson.loads(raw))
            sheets = await asyncio.to_thread(sheet_count, job.pdf)  # pypdf is slow enough to stall the loop
        except orjson.JSONDecodeError:
            stats.rejected += 1
            return json_reply({"errors": dvla_errors(400, "Bad Request", ["the request body must be JSON"])}, 400)
        except PrintJobRefused as refused:
            stats.rejected += 1
            return json_reply({"errors": dvla_errors(400, "Bad Request", refused.details)}, 400)
        if self._jobs.get(job.job_id):
            stats.duplicates += 1
            return json_reply({"errors": dvla_errors(409, "Conflict", [f"print job {job.job_id} already exists"])},
                              409)
        self._jobs.remember(job.job_id, True)
        stats.accepted += 1
        if job.callback_url is not None:
            self._schedule_callback(job.job_id, job.callback_url, sheets, job.despatch_method)
        logger.debug("dvla accepted a print job", extra={"provider_name": NAME, "notification_id": job.job_id,
                                                         "sheets": sheets})
        return json_reply({"id": job.job_id}, 202)

    def _authorisation_refusal(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("Authorization", "")
        if not token:
            return self._unauthorised("send the id-token from authenticate as the Authorization header")
        if token.lower().startswith("bearer "):
            return self._unauthorised("send the id-token as it is, without \"Bearer\"")
        try:
            claims = jwt.decode(token, self._signing_key, algorithms=["HS256"], options={"verify_exp": False})
        except jwt.PyJWTError:
            return self._unauthorised("the token was not issued by this service")
        if claims.get("exp", 0) <= self._state.clock.now().timestamp():
            return self._unauthorised("the token has expired; authenticate again")
        if not request.headers.get("X-API-Key", "").strip():
            return json_reply({"errors": dvla_errors(403, "Forbidden", ["X-API-Key is required"])}, 403)
        return None

    @staticmethod
    def _unauthorised(detail: str) -> web.Response:
        return json_reply({"errors": dvla_errors(401, "Unauthorized", [detail])}, 401)

    def _schedule_callback(self, job_id: str, url: str, sheets: int, despatch_method: str | None) -> None:
        state = self._state
        job_status = dvla_events.REJECTED if state.fails_receipt(NAME) else dvla_events.DESPATCHED
        delay_s, despatched_at = state.receipt_timing(NAME)
        body = dvla_events.status_event(
            job_id=job_id, job_status=job_status, at=despatched_at, total_sheets=sheets,
            despatch_method=despatch_method, event_id=uuid.UUID(int=state.rng.getrandbits(128), version=4),
            correlation_id=uuid.UUID(int=state.rng.getrandbits(128), version=4))
        state.receipts.schedule(ReceiptPost(NAME, ReceiptTarget(url), body, CALLBACK_HEADERS), delay_s)


async def _read_body(request: web.Request, limit: int) -> bytes | None:
    """The request body, or None if it is longer than `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(256 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
