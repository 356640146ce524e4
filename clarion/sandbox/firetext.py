"""Simulated Firetext: `POST /firetext/api/sendsms/json`, form-encoded in, JSON out, form receipts.

Request fields: apiKey, from, to (digits, no "+"), message, reference (our notification id), and
optionally receipt (where the receipt goes, credentials in the URL). Firetext answers HTTP 200 even
when it refuses a message; the JSON `code` says whether it was queued:
  0  SMS successfully queued          1  Authentication error (apiKey missing)
  2  Destination error (to)           3  From error (from)
  5  Message error (message)          9  Reference error (reference; the sandbox's choice of code)
  10 Receipt URL error (receipt; the sandbox's choice of code)
The same reference again is acknowledged with code 0 and gets no second receipt.

Receipt: POST form `status, reference, code, time, mobile`: status 0 code 000 delivered,
1 / 101 unknown subscriber (permanent failure), 1 / 102 absent subscriber (temporary failure).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlencode

from aiohttp import web

from clarion.logs import redact_recipient
from clarion.sandbox.faults import Fault
from clarion.sandbox.gate import guarded
from clarion.sandbox.outcomes import Outcome, sms_outcome, with_receipt_fault
from clarion.sandbox.recent import RecentKeys
from clarion.sandbox.receipts import BadReceiptUrl, ReceiptPost, provider_local_time, receipt_target
from clarion.sandbox.replies import json_reply
from clarion.sandbox.state import SandboxState

__all__ = ["NAME", "PATH", "firetext_receipt_body", "routes"]

logger = logging.getLogger(__name__)

NAME = "firetext"
PATH = "/firetext/api/sendsms/json"
NUMBER_PATTERN = re.compile(r"[0-9]{7,15}")
QUEUED = {"code": 0, "description": "SMS successfully queued"}
RECEIPT_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
RECEIPT_STATUS = {  # outcome -> (status, detailed code)
    Outcome.DELIVERED: ("0", "000"),
    Outcome.PERMANENT_FAILURE: ("1", "101"),
    Outcome.TEMPORARY_FAILURE: ("1", "102"),
}
FAULT_ANSWERS = {
    Fault.DOWN: (503, "Service Unavailable"),
    Fault.TIMEOUT: (504, "Gateway Timeout"),
    Fault.THROTTLE: (429, "Too Many Requests"),
    Fault.ERROR: (500, "Internal Server Error"),
}


def routes(state: SandboxState) -> list[web.RouteDef]:
    """Firetext's send endpoint, behind its fault gate."""
    api = FiretextApi(state)
    return [web.post(PATH, guarded(state, NAME, fault_reply, api.send))]


def fault_reply(fault: Fault) -> web.Response:
    """How Firetext answers when it is down, slow, throttling or failing."""
    status, reason = FAULT_ANSWERS[fault]
    return json_reply({"code": status, "description": reason}, status)


def request_problem(form: Mapping[str, str]) -> tuple[int, str] | None:
    """Firetext's (code, description) for what is wrong with a send request, or None."""
    if not form.get("apiKey", "").strip():
        return 1, "Authentication error: apiKey is missing"
    if not NUMBER_PATTERN.fullmatch(form.get("to", "")):
        return 2, "Destination error: to must be an international number, digits only, without +"
    if not form.get("from", "").strip():
        return 3, "From error: from is missing"
    if not form.get("message", "").strip():
        return 5, "Message error: message is empty"
    if not form.get("reference", "").strip():
        return 9, "Reference error: reference is missing"
    return None


def firetext_receipt_body(*, reference: str, mobile: str, outcome: Outcome, delivered_at: datetime) -> bytes:
    """The form Firetext posts to report `outcome`."""
    status, code = RECEIPT_STATUS[outcome]
    return urlencode({"status": status, "reference": reference, "code": code,
                      "time": provider_local_time(delivered_at), "mobile": mobile}).encode("ascii")


class FiretextApi:
    """Firetext's send endpoint: validation, duplicate protection, receipts."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self._sent: RecentKeys[bool] = RecentKeys()

    async def send(self, request: web.Request) -> web.Response:
        """Queue one text message, or say why not (HTTP 200 either way, like Firetext)."""
        stats = self._state.stats.of(NAME)
        # The first value of each text field; a file upload is no field Firetext knows.
        form: dict[str, str] = {}
        for key, value in (await request.post()).items():
            if isinstance(value, str):
                form.setdefault(key, value)
        problem = request_problem(form)
        if problem is None:
            try:
                target = receipt_target(form.get("receipt"), fallback=self._state.config.default_receipt_target(NAME))
            except BadReceiptUrl:
                problem = 10, "Receipt URL error: receipt must be an absolute http(s) URL"
        if problem is not None:
            stats.rejected += 1
            code, description = problem
            return json_reply({"code": code, "description": description})
        reference, mobile = form["reference"], form["to"]
        if self._sent.get(reference):
            stats.duplicates += 1
            return json_reply(QUEUED)
        self._sent.remember(reference, True)
        stats.accepted += 1
        outcome = with_receipt_fault(sms_outcome(mobile), fail=self._state.fails_receipt(NAME))
        delay_s, delivered_at = self._state.receipt_timing(NAME)
        receipt = firetext_receipt_body(reference=reference, mobile=mobile, outcome=outcome, delivered_at=delivered_at)
        self._state.receipts.schedule(ReceiptPost(NAME, target, receipt, RECEIPT_HEADERS), delay_s)
        logger.debug("firetext queued a message", extra={
            "provider_name": NAME, "notification_id": reference, "recipient": redact_recipient(mobile),
            "outcome": outcome.value})
        return json_reply(QUEUED)
