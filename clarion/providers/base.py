"""Provider clients: one template method per channel around each provider's own `try_send_*`.

`SmsClient.send_sms` and `EmailClient.send_email` are coroutines: a worker keeps hundreds of
provider calls in flight on one event loop. They time the call with the injected clock, record it
in the metrics and log one line per attempt; a provider module implements only `try_send_sms` /
`try_send_email` (its wire format) and raises the categories of `clarion.providers.errors`.
A client whose library blocks (boto3, smtplib) runs it with `asyncio.to_thread`.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from clarion.clock import Clock
from clarion.providers.metrics import NO_METRICS, ProviderMetrics

__all__ = ["Client", "EmailClient", "EmailMessage", "SmsClient", "SmsMessage"]

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class SmsMessage:
    """One text message as a provider receives it."""

    to: str  # normalised: E.164 without the +
    content: str
    reference: str  # our notification id; receipts quote it back
    international: bool
    sender: str


@dataclass(frozen=True)
class EmailMessage:
    """One email as a provider receives it."""

    from_address: str
    to_address: str
    subject: str
    body: str
    html_body: str
    reply_to_address: str | None
    headers: list[dict[str, str]] = field(default_factory=list)
    reference: str = ""  # our notification id


class Client(ABC):
    """A provider client: a name, the channel it serves, the clock it measures with, its metrics."""

    # Whether the provider reports delivery later (receipts). Without, its acceptance is final: `sent`.
    has_delivery_receipts: bool = True

    def __init__(self, *, clock: Clock, metrics: ProviderMetrics = NO_METRICS) -> None:
        self.clock, self.metrics = clock, metrics

    @property
    @abstractmethod
    def name(self) -> str:
        """The provider's identifier, as in provider_details (e.g. "mmg")."""

    @property
    @abstractmethod
    def notification_type(self) -> str:
        """The channel this client serves: "sms", "email" or "letter"."""

    async def close(self) -> None:
        """Release pooled connections; a client that holds none need not override this."""

    async def _timed(self, notification_id: str, call: Callable[[], Awaitable[T]]) -> T:
        started = self.clock.monotonic()
        success = False
        try:
            result = await call()
            success = True
            return result
        finally:
            duration = self.clock.monotonic() - started
            self.metrics.record(self.name, success=success, duration_s=duration)
            fields = {"provider_name": self.name, "notification_id": notification_id,
                      "duration": round(duration, 6), "outcome": "success" if success else "error"}
            logger.info("provider request finished", extra=fields)


class SmsClient(Client):
    """A text message provider."""

    notification_type = "sms"

    async def send_sms(self, message: SmsMessage) -> None:
        """Hand one text message to the provider, timed and logged; raises a ProviderError category."""
        await self._timed(message.reference, lambda: self.try_send_sms(message))

    @abstractmethod
    async def try_send_sms(self, message: SmsMessage) -> None:
        """Speak the provider's wire format; raise a `clarion.providers.errors` category on failure."""


class EmailClient(Client):
    """An email provider."""

    notification_type = "email"

    async def send_email(self, message: EmailMessage) -> str:
        """Hand one email to the provider, timed and logged; returns the provider's reference."""
        return await self._timed(message.reference, lambda: self.try_send_email(message))

    @abstractmethod
    async def try_send_email(self, message: EmailMessage) -> str:
        """Speak the provider's wire format and return its reference for the message."""
