"""Simulated SES (API v2): SendEmail at `POST /v2/email/outbound-emails`, and SES events over SNS.

boto3's `sesv2` client with `endpoint_url=<sandbox>` calls it unchanged. The request must carry an
`Authorization: AWS4-HMAC-SHA256 Credential=...` header (the signature is not checked; missing ->
403 MissingAuthenticationTokenException) and a JSON body with FromEmailAddress, Destination
(To/Cc/BccAddresses), Content.Simple (Subject, Body.Text and/or Body.Html, Headers) and optionally
ReplyToAddresses. Answer: 200 `{"MessageId": "..."}`. A malformed request gets 400 with header
`x-amzn-ErrorType: BadRequestException` and `{"message": ...}`, which botocore turns into a
ClientError with that code. SES does not deduplicate: every call is a new email with a new id.

Each accepted email's events are signed SNS Notifications posted to
`{API_HOST_NAME}/notifications/email/ses`: Delivery, Bounce (Permanent / Transient), or for
complaint@simulator.notify a Delivery followed by a Complaint.
"""

from __future__ import annotations

import email.utils
import logging
import uuid
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from clarion.logs import redact_recipient
from clarion.sandbox.faults import Fault
from clarion.sandbox.gate import guarded
from clarion.sandbox.outcomes import Outcome, email_outcome, with_receipt_fault
from clarion.sandbox.receipts import ReceiptPost
from clarion.sandbox.replies import json_reply
from clarion.sandbox.ses_events import SentEmail, ses_event
from clarion.sandbox.state import SandboxState

__all__ = ["NAME", "PATH", "SesRequestError", "routes", "sent_email"]

logger = logging.getLogger(__name__)

NAME = "ses"
PATH = "/v2/email/outbound-emails"
MAX_RECIPIENTS = 50
FAULT_ANSWERS = {
    Fault.DOWN: (503, "ServiceUnavailable", "Service is unavailable. Please try again later."),
    Fault.TIMEOUT: (504, "RequestTimeout", "The request timed out."),
    Fault.THROTTLE: (429, "TooManyRequestsException", "Maximum sending rate exceeded."),
    Fault.ERROR: (500, "InternalFailure", "The request processing has failed because of an unknown error."),
}
NOTIFICATIONS = {  # outcome -> the SES events it produces, in order
    Outcome.DELIVERED: ("Delivery",),
    Outcome.PERMANENT_FAILURE: ("Bounce",),
    Outcome.TEMPORARY_FAILURE: ("Bounce",),
    Outcome.COMPLAINT: ("Delivery", "Complaint"),
}


class SesRequestError(ValueError):
    """A SendEmail request SES refuses: HTTP status, error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def routes(state: SandboxState) -> list[web.RouteDef]:
    """SESv2 SendEmail, behind its fault gate."""
    api = SesApi(state)
    return [web.post(PATH, guarded(state, NAME, fault_reply, api.send_email))]


def ses_error(status: int, code: str, message: str) -> web.Response:
    """An AWS REST-JSON error answer."""
    return json_reply({"message": message}, status,
                      headers={"x-amzn-ErrorType": code, "x-amzn-RequestId": str(uuid.uuid4())})


def fault_reply(fault: Fault) -> web.Response:
    """How SES answers when it is down, slow, throttling or failing."""
    return ses_error(*FAULT_ANSWERS[fault])


def check_authorization(header: str) -> None:
    """Refuse a request without a SigV4 Authorization header (the signature itself is not checked)."""
    if not header:
        raise SesRequestError(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    if not header.startswith("AWS4-HMAC-SHA256 ") or "Credential=" not in header:
        raise SesRequestError(403, "IncompleteSignatureException",
                              "Authorization header requires 'AWS4-HMAC-SHA256 Credential=...'")


def sent_email(body: Any, *, message_id: str, sent_at: datetime, region: str) -> SentEmail:
    """The email a SendEmail body describes; SesRequestError says what is wrong with it."""
    if not isinstance(body, dict):
        raise _bad_request("The request body must be a JSON object")
    source = _address(body.get("FromEmailAddress"), "FromEmailAddress")
    destination = body.get("Destination")
    if not isinstance(destination, dict):
        raise _bad_request("Destination is required")
    recipients = tuple(_address(address, "Destination")
                       for field in ("ToAddresses", "CcAddresses", "BccAddresses")
                       for address in _string_list(destination.get(field), f"Destination.{field}"))
    if not recipients:
        raise _bad_request("Destination must contain at least one of ToAddresses, CcAddresses or BccAddresses")
    if len(recipients) > MAX_RECIPIENTS:
        raise _bad_request(f"Destination has more than {MAX_RECIPIENTS} recipients")
    for address in _string_list(body.get("ReplyToAddresses"), "ReplyToAddresses"):
        _address(address, "ReplyToAddresses")
    subject = _simple_content(body.get("Content"))
    return SentEmail(message_id=message_id, source=source, destination=recipients, subject=subject,
                     sent_at=sent_at, region=region)


def _simple_content(content: Any) -> str:
    """The subject of valid Content.Simple."""
    if not isinstance(content, dict) or not isinstance(content.get("Simple"), dict):
        raise _bad_request("Content.Simple is required (the sandbox does not simulate Raw or Template content)")
    simple = content["Simple"]
    subject = simple.get("Subject")
    if not isinstance(subject, dict) or not isinstance(subject.get("Data"), str):
        raise _bad_request("Content.Simple.Subject.Data is required")
    body = simple.get("Body")
    parts = [body.get(kind) for kind in ("Text", "Html")] if isinstance(body, dict) else []
    if not any(isinstance(part, dict) and isinstance(part.get("Data"), str) for part in parts):
        raise _bad_request("Content.Simple.Body needs Text.Data or Html.Data")
    headers = simple.get("Headers", [])
    if not isinstance(headers, list) or not all(
            isinstance(h, dict) and isinstance(h.get("Name"), str) and isinstance(h.get("Value"), str)
            for h in headers):
        raise _bad_request("Content.Simple.Headers must be a list of {Name, Value} strings")
    return subject["Data"]


def _string_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _bad_request(f"{where} must be a list of strings")
    return value


def _address(value: Any, where: str) -> str:
    """A mailbox (bare or with a display name) whose address has a local part and a domain."""
    _, address = email.utils.parseaddr(value) if isinstance(value, str) else ("", "")
    local, at, domain = address.rpartition("@")
    if not (local and at and domain) or not address.isascii():
        raise _bad_request(f"Illegal address in {where}")
    return value


def _bad_request(message: str) -> SesRequestError:
    return SesRequestError(400, "BadRequestException", message)


class SesApi:
    """SendEmail: validation, MessageIds, SES events."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state

    async def send_email(self, request: web.Request) -> web.Response:
        """Accept one email, or answer an AWS error."""
        stats = self._state.stats.of(NAME)
        now = self._state.clock.now()
        try:
            check_authorization(request.headers.get("Authorization", ""))
            try:
                body = orjson.loads(await request.read())
            except orjson.JSONDecodeError:
                raise _bad_request("The request body is not valid JSON") from None
            email_ = sent_email(body, message_id=_message_id(now), sent_at=now, region=self._state.config.aws_region)
        except SesRequestError as refusal:
            stats.rejected += 1
            return ses_error(refusal.status, refusal.code, str(refusal))
        stats.accepted += 1
        self._schedule_events(email_)
        logger.debug("ses accepted an email", extra={
            "provider_name": NAME, "reference": email_.message_id,
            "recipients": [redact_recipient(address) for address in email_.destination]})
        return json_reply({"MessageId": email_.message_id}, headers={"x-amzn-RequestId": str(uuid.uuid4())})

    def _schedule_events(self, email_: SentEmail) -> None:
        fail = self._state.fails_receipt(NAME)
        by_outcome: dict[Outcome, list[str]] = {}
        for address in email_.destination:
            by_outcome.setdefault(with_receipt_fault(email_outcome(address), fail=fail), []).append(address)
        delay_s, at = self._state.receipt_timing(NAME)
        for outcome, recipients in by_outcome.items():
            post = None
            for notification_type in reversed(NOTIFICATIONS[outcome]):  # build the chain from its end
                event = ses_event(email_, notification_type, recipients, outcome=outcome, at=at)
                post = self._sns_post(event, at, then=post)
            assert post is not None
            self._state.receipts.schedule(post, delay_s)

    def _sns_post(self, event: bytes, at: datetime, *, then: ReceiptPost | None) -> ReceiptPost:
        signer = self._state.signer
        envelope = signer.notification(event.decode(), at=at)
        headers = {"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification",
                   "x-amz-sns-message-id": envelope["MessageId"], "x-amz-sns-topic-arn": signer.topic_arn,
                   "User-Agent": "Amazon Simple Notification Service Agent"}
        return ReceiptPost(NAME, self._state.config.default_receipt_target(NAME), orjson.dumps(envelope), headers,
                           then=then)


def _message_id(now: datetime) -> str:
    """An SES-style MessageId: 0102, 12 hex digits of milliseconds, a UUID, -000000."""
    return f"0102{int(now.timestamp() * 1000):012x}-{uuid.uuid4()}-000000"
