"""Provider receipt endpoints: authenticate the caller, parse the body, queue the receipt, answer at once.

- `POST /notifications/sms/mmg` (JSON) and `POST /notifications/sms/firetext` (form): HTTP Basic,
  the password one of MMG_INBOUND_SMS_AUTH / FIRETEXT_INBOUND_SMS_AUTH; `{"result": "success"}`.
- `POST /notifications/email/ses`: an SNS message from a topic in SNS_TOPIC_ARNS whose signature
  verifies against a certificate from an allowed URL (clarion.receipts.sns); a SubscriptionConfirmation
  is confirmed.

No credentials → 401, wrong credentials or an unlisted topic → 403, a malformed body → 400 with a
message, a body over the endpoint's cap → 413; none of them queues anything. Bodies are read a chunk
at a time and reading stops at the cap, so an unauthenticated caller cannot make the process hold a
large body (the SES endpoint has to read the body before it can check the signature).

The request never touches the database: accepted receipts go to the receipts `EnqueueBatcher`, which
sends them in batches to the `process_receipts` task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from clarion.api.enqueue import EnqueueBatcher, Send
from clarion.api.errors import error_response
from clarion.api.responses import JsonResponse
from clarion.clock import Clock
from clarion.config import Settings
from clarion.receipts import parse, sns
from clarion.receipts.basic_auth import BasicAuth, ReceiptAuthError
from clarion.receipts.parse import MalformedReceipt, Receipt

__all__ = ["ReceiptIntake", "receipts_sender", "router"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/notifications")
SUCCESS = {"result": "success"}
ERROR_NAMES = {400: "ValidationError", 401: "AuthError", 403: "AuthError", 413: "RequestEntityTooLarge",
               503: "ServiceUnavailable"}
SES_MAX_BODY_BYTES = 256 * 1024  # SNS's own limit on a message
SMS_MAX_BODY_BYTES = 16 * 1024  # an MMG or Firetext receipt is a few hundred bytes


class BodyTooLarge(Exception):
    """The request body is larger than the endpoint accepts."""

    status_code = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit // 1024} KiB, the most this endpoint accepts")


REFUSALS = (ReceiptAuthError, MalformedReceipt, sns.SnsError, BodyTooLarge)


@dataclass
class ReceiptIntake:
    """What the receipt endpoints share in one API process: the credential checks and the batcher."""

    batcher: EnqueueBatcher
    mmg: BasicAuth
    firetext: BasicAuth
    sns_verifier: sns.SnsVerifier

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock, batcher: EnqueueBatcher) -> ReceiptIntake:
        """The intake for these settings' tokens, SNS topics and certificate URL prefixes."""
        user = settings.receipt_basic_auth_user
        return cls(
            batcher=batcher,
            mmg=BasicAuth(provider="mmg", user=user, tokens=settings.mmg_inbound_sms_auth,
                          setting="MMG_INBOUND_SMS_AUTH"),
            firetext=BasicAuth(provider="firetext", user=user, tokens=settings.firetext_inbound_sms_auth,
                               setting="FIRETEXT_INBOUND_SMS_AUTH"),
            sns_verifier=sns.SnsVerifier(cert_url_prefixes=settings.sns_signing_cert_url_prefixes,
                                         topic_arns=settings.sns_topic_arns, clock=clock),
        )

    async def close(self) -> None:
        """Send the receipts still waiting in the batcher."""
        await self.batcher.close()


def receipts_sender(celery_app: Any) -> Send:
    """A `Send` that puts one batch of receipts (keyed by channel) on its receipts queue."""
    from clarion.worker import receipt_tasks

    def send(channel: str, receipts: list[dict[str, Any]]) -> None:
        receipt_tasks.enqueue_receipts(celery_app, channel, receipts)

    return send


@router.post("/sms/mmg")
async def mmg_receipt(request: Request) -> Response:
    """An MMG delivery receipt (JSON)."""
    intake = _intake(request)
    return await _accept_sms(request, intake, intake.mmg, parse.parse_mmg)


@router.post("/sms/firetext")
async def firetext_receipt(request: Request) -> Response:
    """A Firetext delivery receipt (form)."""
    intake = _intake(request)
    return await _accept_sms(request, intake, intake.firetext, parse.parse_firetext)


@router.post("/email/ses")
async def ses_receipt(request: Request) -> Response:
    """An SNS message: an SES receipt, or a subscription (un)confirmation."""
    intake = _intake(request)
    try:
        body = await _bounded_body(request, SES_MAX_BODY_BYTES)
        envelope = sns.parse_envelope(body, request.headers.get("x-amz-sns-message-type"))
        await intake.sns_verifier.verify(envelope)
        if envelope["Type"] == sns.SUBSCRIPTION_CONFIRMATION:
            await intake.sns_verifier.confirm_subscription(envelope)
            return JsonResponse(SUCCESS)
        if envelope["Type"] == sns.UNSUBSCRIBE_CONFIRMATION:
            log.warning("SNS says clarion was unsubscribed", extra={"topic_arn": envelope["TopicArn"][:256]})
            return JsonResponse(SUCCESS)
        receipt = parse.parse_ses(envelope["Message"])
    except REFUSALS as exc:
        return _refused(request, exc)
    return await _queued(intake, receipt)


def _intake(request: Request) -> ReceiptIntake:
    return request.app.state.api.receipts


async def _accept_sms(request: Request, intake: ReceiptIntake, auth: BasicAuth,
                      parse_body: Callable[[bytes], Receipt]) -> Response:
    try:
        auth.check(request.headers.get("authorization"))
        receipt = parse_body(await _bounded_body(request, SMS_MAX_BODY_BYTES))
    except REFUSALS as exc:
        return _refused(request, exc)
    return await _queued(intake, receipt)


async def _bounded_body(request: Request, limit: int) -> bytes:
    """The request body, read chunk by chunk; BodyTooLarge as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:  # refused before a byte of it is read
        raise BodyTooLarge(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(limit)
    return bytes(body)


async def _queued(intake: ReceiptIntake, receipt: Receipt) -> Response:
    """Answer success only once the receipt is on the queue: nothing else would bring back a lost one."""
    try:
        await intake.batcher.submit(receipt.channel, receipt.to_message())
    except Exception:
        return error_response(503, "ServiceUnavailable", ["could not queue the receipt; send it again"])
    return JsonResponse(SUCCESS)


def _refused(request: Request, exc: Exception) -> Response:
    status_code = getattr(exc, "status_code", 400)
    log.info("receipt refused", extra={"path": request.url.path, "status": status_code, "error": str(exc)[:300]})
    response = error_response(status_code, ERROR_NAMES.get(status_code, "AuthError"), [str(exc)])
    if status_code == 401 and isinstance(exc, ReceiptAuthError):
        response.headers["WWW-Authenticate"] = 'Basic realm="clarion receipts"'
    return response
