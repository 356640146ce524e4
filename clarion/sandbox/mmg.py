"""Simulated MMG: `POST /mmg/jsonv2a/api.php`, JSON in and out, and MMG's JSON delivery receipts.

Request: `Authorization: Basic <api key>` (any non-empty token; missing -> 401) and a JSON body with
reqType "BULK", MSISDN (digits, no "+"), msg, sender, cid (our notification id), optionally multi
and delurl (where the receipt goes, credentials in the URL). Answer: 200 `{"Reference": <int>}`.
A malformed request gets 400 `{"Error": 400, "Description": "..."}`; the same cid again is
acknowledged with its first Reference and gets no second receipt.

Receipt: POST JSON `{"reference", "CID", "MSISDN", "status", "substatus", "deliverytime"}`:
status 3 / substatus 5 delivered to handset, 2 / 1 number does not exist (permanent failure),
4 / 6 absent subscriber (temporary failure).
"""

from __future__ import annotations

import itertools
import logging
import re
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from clarion.logs import redact_recipient
from clarion.sandbox.faults import Fault
from clarion.sandbox.gate import guarded
from clarion.sandbox.outcomes import Outcome, sms_outcome, with_receipt_fault
from clarion.sandbox.recent import RecentKeys
from clarion.sandbox.receipts import BadReceiptUrl, ReceiptPost, provider_local_time, receipt_target
from clarion.sandbox.replies import json_reply
from clarion.sandbox.state import SandboxState

__all__ = ["NAME", "PATH", "mmg_receipt_body", "routes"]

logger = logging.getLogger(__name__)

NAME = "mmg"
PATH = "/mmg/jsonv2a/api.php"
REQUIRED_TEXT_FIELDS = ("MSISDN", "msg", "sender", "cid")
MSISDN_PATTERN = re.compile(r"[0-9]{7,15}")
FIRST_REFERENCE = 300_000_001  # MMG's references are integers
RECEIPT_HEADERS = {"Content-Type": "application/json"}
RECEIPT_STATUS = {  # outcome -> (status, substatus)
    Outcome.DELIVERED: ("3", "5"),
    Outcome.PERMANENT_FAILURE: ("2", "1"),
    Outcome.TEMPORARY_FAILURE: ("4", "6"),
}
FAULT_ANSWERS = {
    Fault.DOWN: (503, "Service Unavailable"),
    Fault.TIMEOUT: (504, "Gateway Time-out"),
    Fault.THROTTLE: (429, "Too Many Requests"),
    Fault.ERROR: (500, "Internal Server Error"),
}


def routes(state: SandboxState) -> list[web.RouteDef]:
    """MMG's send endpoint, behind its fault gate."""
    api = MmgApi(state)
    return [web.post(PATH, guarded(state, NAME, fault_reply, api.send))]


def mmg_error(status: int, description: str) -> web.Response:
    """MMG's error answer."""
    return json_reply({"Error": status, "Description": description}, status)


def fault_reply(fault: Fault) -> web.Response:
    """How MMG answers when it is down, slow, throttling or failing."""
    return mmg_error(*FAULT_ANSWERS[fault])


def request_problem(body: Any) -> str | None:
    """What is wrong with a send request's JSON body, or None."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object"
    if body.get("reqType") != "BULK":
        return "Invalid reqType: expected BULK"
    for key in REQUIRED_TEXT_FIELDS:
        value = body.get(key)
        if not isinstance(value, str) or not value.strip():
            return f"Missing or empty {key}"
    if not MSISDN_PATTERN.fullmatch(body["MSISDN"]):
        return "Invalid MSISDN: an international number, digits only, without +"
    if "delurl" in body and not isinstance(body["delurl"], str):
        return "Invalid delurl"
    return None


def mmg_receipt_body(*, cid: str, msisdn: str, reference: int, outcome: Outcome, delivered_at: datetime) -> bytes:
    """The JSON MMG posts to report `outcome`."""
    status, substatus = RECEIPT_STATUS[outcome]
    return orjson.dumps({"reference": str(reference), "CID": cid, "MSISDN": msisdn, "status": status,
                         "substatus": substatus, "deliverytime": provider_local_time(delivered_at)})


class MmgApi:
    """MMG's send endpoint: validation, duplicate protection, receipts."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self._references = itertools.count(FIRST_REFERENCE)
        self._sent: RecentKeys[int] = RecentKeys()

    async def send(self, request: web.Request) -> web.Response:
        """Accept one text message, or say why not."""
        stats = self._state.stats.of(NAME)
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("Basic ") or not authorization[6:].strip():
            stats.rejected += 1
            return mmg_error(401, "Unauthorized: send the API key as Authorization: Basic <key>")
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            stats.rejected += 1
            return mmg_error(400, "Invalid JSON in the request body")
        problem = request_problem(body)
        if problem is None:
            try:
                target = receipt_target(body.get("delurl"), fallback=self._state.config.default_receipt_target(NAME))
            except BadReceiptUrl:
                problem = "Invalid delurl: an absolute http(s) URL"
        if problem is not None:
            stats.rejected += 1
            return mmg_error(400, problem)
        cid, msisdn = body["cid"], body["MSISDN"]
        earlier = self._sent.get(cid)
        if earlier is not None:
            stats.duplicates += 1
            return json_reply({"Reference": earlier})
        reference = next(self._references)
        self._sent.remember(cid, reference)
        stats.accepted += 1
        outcome = with_receipt_fault(sms_outcome(msisdn), fail=self._state.fails_receipt(NAME))
        delay_s, delivered_at = self._state.receipt_timing(NAME)
        receipt = mmg_receipt_body(cid=cid, msisdn=msisdn, reference=reference, outcome=outcome,
                                   delivered_at=delivered_at)
        self._state.receipts.schedule(ReceiptPost(NAME, target, receipt, RECEIPT_HEADERS), delay_s)
        logger.debug("mmg accepted a message", extra={
            "provider_name": NAME, "notification_id": cid, "recipient": redact_recipient(msisdn),
            "outcome": outcome.value})
        return json_reply({"Reference": reference})
