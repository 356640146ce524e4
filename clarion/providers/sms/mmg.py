"""MMG: a JSON POST per text message, authorised by the API key as a literal basic-auth token.

The body is `{"reqType": "BULK", "MSISDN", "msg", "sender", "cid", "multi": true}`, plus `delurl` (where
MMG posts the delivery receipt) only when a receipt URL is configured; without it MMG uses the URL
set up on their side. MMG quotes `cid`, our notification id, back in its receipt. Any 2xx reply
that is JSON means MMG took the message; nothing in it is kept.
"""

from __future__ import annotations

import json

import aiohttp

from clarion.clock import Clock
from clarion.config import Settings
from clarion.providers.base import SmsClient, SmsMessage
from clarion.providers.errors import ProviderUnavailable
from clarion.providers.http import post_to_provider, request_timeout, require_http_url
from clarion.providers.metrics import NO_METRICS, ProviderMetrics
from clarion.providers.receipt_urls import receipt_url_with_credentials

__all__ = ["MmgClient", "mmg_client_from_settings", "mmg_request_body"]


def mmg_request_body(message: SmsMessage, receipt_url: str | None) -> bytes:
    """The exact bytes MMG receives for one message (keys in this order, non-ASCII as \\u escapes)."""
    fields: dict[str, object] = {
        "reqType": "BULK",
        "MSISDN": message.to.lstrip("+"),  # digits only; the normalised number should have no "+" anyway
        "msg": message.content,
        "sender": message.sender,
        "cid": message.reference,
        "multi": True,
    }
    if receipt_url is not None:
        fields["delurl"] = receipt_url
    return json.dumps(fields).encode("ascii")


class MmgClient(SmsClient):
    """Sends text messages through MMG's JSON API; one instance per process, sharing the process's session."""

    name = "mmg"

    def __init__(self, *, clock: Clock, metrics: ProviderMetrics = NO_METRICS, url: str, api_key: str,
                 receipt_url: str | None, session: aiohttp.ClientSession, timeout_s: float) -> None:
        super().__init__(clock=clock, metrics=metrics)
        if not api_key:
            raise ValueError("MMG_API_KEY is empty; MMG would refuse every message")
        self._url = require_http_url("MMG_URL", url)
        self._headers = {"Content-Type": "application/json", "Authorization": f"Basic {api_key}"}
        self._receipt_url = require_http_url("MMG_RECEIPT_URL", receipt_url) if receipt_url else None
        self._session = session
        self._timeout = request_timeout(timeout_s)

    async def try_send_sms(self, message: SmsMessage) -> None:
        """POST the message to MMG; the reply must be JSON."""
        reply = await post_to_provider(self._session, provider=self.name, url=self._url,
                                       body=mmg_request_body(message, self._receipt_url),
                                       headers=self._headers, timeout=self._timeout)
        try:
            json.loads(reply)
        except ValueError:  # UnicodeDecodeError is one too
            raise ProviderUnavailable(self.name, "the reply is not JSON") from None


def mmg_client_from_settings(settings: Settings, *, session: aiohttp.ClientSession, clock: Clock,
                             metrics: ProviderMetrics = NO_METRICS) -> MmgClient:
    """The MMG client Settings describe; receipts carry RECEIPT_BASIC_AUTH_USER and the first MMG_INBOUND_SMS_AUTH."""
    receipt_url = receipt_url_with_credentials(settings.mmg_receipt_url, user=settings.receipt_basic_auth_user,
                                               passwords=settings.mmg_inbound_sms_auth)
    return MmgClient(clock=clock, metrics=metrics, url=settings.mmg_url,
                     api_key=settings.mmg_api_key.get_secret_value(), receipt_url=receipt_url,
                     session=session, timeout_s=settings.provider_timeout_s)
