"""Firetext: a form-encoded POST per text message, answered by JSON whose `code` is 0 when queued.

Fields, in this order: `apiKey` (the international key for international numbers), `from`, `to`
(digits, no "+"), `message`, `reference` (our notification id, quoted back in the receipt) and
`receipt` (where Firetext posts the delivery receipt) only when a receipt URL is configured.

A 200 whose `code` is not 0 means Firetext did not queue the message. That is treated like an
outage, not a permanent failure: a fault against Firetext, and the message is retried. Reasons that
belong to our Firetext account (a wrong API key, no credit left, a sender the account may not use)
do not follow the message to another provider, and retries move there as Firetext's weight drops;
failing for good would lose every message routed to Firetext until an operator noticed. Retrying
cannot send twice, since nothing was queued. A reason that belongs to the message fails every
attempt and ends as a technical failure once the retries run out.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import aiohttp

from clarion.clock import Clock
from clarion.config import Settings
from clarion.providers.base import SmsClient, SmsMessage
from clarion.providers.errors import ProviderUnavailable
from clarion.providers.http import post_to_provider, request_timeout, require_http_url
from clarion.providers.metrics import NO_METRICS, ProviderMetrics
from clarion.providers.receipt_urls import receipt_url_with_credentials

__all__ = ["FiretextClient", "firetext_client_from_settings", "firetext_request_body"]

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def firetext_request_body(message: SmsMessage, *, api_key: str, receipt_url: str | None) -> bytes:
    """The exact bytes Firetext receives for one message: UTF-8, percent-encoded, spaces as "+"."""
    fields = [
        ("apiKey", api_key),
        ("from", message.sender),
        ("to", message.to.replace("+", "")),
        ("message", message.content),
        ("reference", message.reference),
    ]
    if receipt_url is not None:
        fields.append(("receipt", receipt_url))
    return urlencode(fields, encoding="utf-8").encode("ascii")


class FiretextClient(SmsClient):
    """Sends text messages through Firetext's form API; one instance per process, sharing the process's session."""

    name = "firetext"

    def __init__(self, *, clock: Clock, metrics: ProviderMetrics = NO_METRICS, url: str, api_key: str,
                 international_api_key: str, receipt_url: str | None, session: aiohttp.ClientSession,
                 timeout_s: float) -> None:
        super().__init__(clock=clock, metrics=metrics)
        if not api_key or not international_api_key:
            raise ValueError("FIRETEXT_API_KEY and FIRETEXT_INTERNATIONAL_API_KEY must not be empty")
        self._url = require_http_url("FIRETEXT_URL", url)
        self._api_key, self._international_api_key = api_key, international_api_key
        self._receipt_url = require_http_url("FIRETEXT_RECEIPT_URL", receipt_url) if receipt_url else None
        self._session = session
        self._timeout = request_timeout(timeout_s)

    async def try_send_sms(self, message: SmsMessage) -> None:
        """POST the message to Firetext; the reply must be JSON with `code` 0."""
        api_key = self._international_api_key if message.international else self._api_key
        reply = await post_to_provider(self._session, provider=self.name, url=self._url,
                                       body=firetext_request_body(message, api_key=api_key,
                                                                  receipt_url=self._receipt_url),
                                       headers=FORM_HEADERS, timeout=self._timeout)
        self._require_queued(reply)

    def _require_queued(self, reply: bytes) -> None:
        try:
            answer = json.loads(reply)
        except ValueError:  # UnicodeDecodeError is one too
            raise ProviderUnavailable(self.name, "the reply is not JSON") from None
        code = answer.get("code") if isinstance(answer, dict) else None
        if isinstance(code, bool) or not isinstance(code, int):
            raise ProviderUnavailable(self.name, "the reply has no numeric code")
        if code != 0:
            raise ProviderUnavailable(self.name, f"answered code {code}: the message was not queued")


def firetext_client_from_settings(settings: Settings, *, session: aiohttp.ClientSession, clock: Clock,
                                  metrics: ProviderMetrics = NO_METRICS) -> FiretextClient:
    """The Firetext client Settings describe; receipts carry RECEIPT_BASIC_AUTH_USER and the first
    FIRETEXT_INBOUND_SMS_AUTH."""
    receipt_url = receipt_url_with_credentials(settings.firetext_receipt_url,
                                               user=settings.receipt_basic_auth_user,
                                               passwords=settings.firetext_inbound_sms_auth)
    return FiretextClient(clock=clock, metrics=metrics, url=settings.firetext_url,
                          api_key=settings.firetext_api_key.get_secret_value(),
                          international_api_key=settings.firetext_international_api_key.get_secret_value(),
                          receipt_url=receipt_url, session=session, timeout_s=settings.provider_timeout_s)
