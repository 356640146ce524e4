"""AWS SES (API v2) email client, "ses": boto3's `sesv2` SendEmail with Notify's parameters.

boto3 blocks, so each call runs on a thread of this client's own pool, sized like botocore's
connection pool: asyncio's default executor has min(32, CPUs + 4) threads (6 on a 2-core worker),
which would cap a worker at 6 emails in flight while it keeps hundreds of texts in flight.
Threads start only when needed. One botocore client serves all threads (clients are thread-safe).

Retries belong to clarion (its retry policy and provider fault accounting), so botocore makes exactly
one attempt. How SES answers map onto `clarion.providers.errors` (codes from the SESv2 API reference):

  the message itself is at fault, never retry  -> PermanentProviderError
      InvalidParameterValue (Notify's one), BadRequestException ("the input you provided is
      invalid"), MessageRejected ("it contains invalid content")
  slow down, not a fault                       -> ProviderThrottled
      TooManyRequestsException (HTTP 429), Throttling, ThrottlingException, LimitExceededException
  no reply within the read timeout             -> ProviderTimeout
  everything else                              -> ProviderUnavailable

AccountSuspendedException, SendingPausedException and MailFromDomainNotVerifiedException are
refusals of the account, not of the message: every email would fail the same way until an operator
acts. They are faults against SES (so routing moves email to the other provider) and the
notifications wait in the retry queue instead of all becoming technical-failure.
Error details carry the SES code and HTTP status only: SES's own text can quote addresses.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from clarion.clock import Clock
from clarion.config import Settings
from clarion.providers.base import EmailClient, EmailMessage
from clarion.providers.email.addresses import UnencodableAddress, idna_address, mailbox_header
from clarion.providers.errors import (
    PermanentProviderError,
    ProviderError,
    ProviderThrottled,
    ProviderTimeout,
    ProviderUnavailable,
)
from clarion.providers.metrics import NO_METRICS, ProviderMetrics

__all__ = ["PERMANENT_CODES", "THROTTLING_CODES", "SesClient", "build_sesv2", "send_email_params",
           "ses_client_from_settings"]

PERMANENT_CODES = frozenset({"InvalidParameterValue", "BadRequestException", "MessageRejected"})
THROTTLING_CODES = frozenset({"TooManyRequestsException", "Throttling", "ThrottlingException",
                              "LimitExceededException"})


def build_sesv2(*, region: str, endpoint_url: str | None, access_key_id: str | None,
                secret_access_key: str | None, timeout_s: float, connections: int) -> Any:
    """A boto3 `sesv2` client with bounded timeouts, one attempt per call and `connections` pooled."""
    config = Config(connect_timeout=timeout_s, read_timeout=timeout_s, max_pool_connections=connections,
                    retries={"mode": "standard", "total_max_attempts": 1}, tcp_keepalive=True)
    # Without explicit keys boto3 uses its own chain (instance role, AWS_* variables, ~/.aws).
    keys = {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key} \
        if access_key_id and secret_access_key else {}
    return boto3.session.Session().client("sesv2", region_name=region, endpoint_url=endpoint_url,
                                          config=config, **keys)


def send_email_params(message: EmailMessage) -> dict[str, Any]:
    """The SendEmail keyword arguments for one email, addresses IDNA-encoded as Notify sends them."""
    return {
        "FromEmailAddress": mailbox_header(message.from_address),
        "Destination": {"ToAddresses": [idna_address(message.to_address)], "CcAddresses": [],
                        "BccAddresses": []},
        "Content": {"Simple": {
            "Subject": {"Data": message.subject},
            "Body": {"Text": {"Data": message.body}, "Html": {"Data": message.html_body}},
            "Headers": [dict(header) for header in message.headers],
        }},
        "ReplyToAddresses": [idna_address(message.reply_to_address)] if message.reply_to_address else [],
    }


class SesClient(EmailClient):
    """Sends email through SES; the SES MessageId is the reference its receipts quote back."""

    name = "ses"
    has_delivery_receipts = True  # SES events (via SNS) move `sending` on to a final status

    def __init__(self, *, sesv2: Any, connections: int, timeout_s: float, **base: Any) -> None:
        super().__init__(**base)
        self._sesv2, self._timeout_s = sesv2, timeout_s
        self._threads = ThreadPoolExecutor(max_workers=connections, thread_name_prefix="ses")

    async def try_send_email(self, message: EmailMessage) -> str:
        """Call SendEmail; returns SES's MessageId or raises a provider error category."""
        try:
            params = send_email_params(message)
        except UnencodableAddress as error:
            raise PermanentProviderError(self.name, f"address not accepted: {error}") from error
        call = functools.partial(self._sesv2.send_email, **params)
        try:
            reply = await asyncio.get_running_loop().run_in_executor(self._threads, call)
        except (BotoCoreError, ClientError) as error:
            raise self.provider_error(error) from error
        message_id = reply.get("MessageId")
        if not isinstance(message_id, str) or not message_id:
            raise ProviderUnavailable(self.name, "SES accepted the request but its reply had no MessageId")
        return message_id

    def provider_error(self, error: BotoCoreError | ClientError) -> ProviderError:
        """The clarion category for a botocore failure; see the module docstring for the table."""
        if isinstance(error, ReadTimeoutError):
            return ProviderTimeout(self.name, f"no reply from SES within {self._timeout_s}s")
        if isinstance(error, BotoCoreError):
            return ProviderUnavailable(self.name, f"no answer from SES: {type(error).__name__}")
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        detail = f"SES answered HTTP {status} {code}".rstrip()
        if code in PERMANENT_CODES:
            return PermanentProviderError(self.name, detail)
        if code in THROTTLING_CODES or status == 429:
            return ProviderThrottled(self.name, detail)
        return ProviderUnavailable(self.name, detail)

    async def close(self) -> None:
        """Close botocore's pooled connections and let the threads finish."""
        self._threads.shutdown(wait=False)
        self._sesv2.close()


def ses_client_from_settings(settings: Settings, *, clock: Clock, metrics: ProviderMetrics = NO_METRICS
                             ) -> SesClient:
    """The SES client for this process: AWS, or the endpoint in SES_ENDPOINT_URL (sandbox, moto)."""
    sesv2 = build_sesv2(
        region=settings.aws_region, endpoint_url=settings.ses_endpoint_url,
        access_key_id=settings.aws_access_key_id.get_secret_value() if settings.aws_access_key_id else None,
        secret_access_key=(settings.aws_secret_access_key.get_secret_value()
                           if settings.aws_secret_access_key else None),
        timeout_s=settings.provider_timeout_s, connections=settings.provider_connections)
    return SesClient(sesv2=sesv2, connections=settings.provider_connections,
                     timeout_s=settings.provider_timeout_s, clock=clock, metrics=metrics)
