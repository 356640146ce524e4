"""Provider clients: one template method per channel around each provider's own `try_send_*`.

`SmsClient.send_sms` and `EmailClient.send_email` time the call with the injected clock and log one
line per attempt; a provider module implements only `try_send_sms` / `try_send_email` (its wire
format) and raises the categories of `clarion.providers.errors`.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from clarion.clock import Clock

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
    """A provider client: a name, the channel it serves and the clock it measures with."""

    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock

    @property
    @abstractmethod
    def name(self) -> str:
        """The provider's identifier, as in provider_details (e.g. "mmg")."""

    @property
    @abstractmethod
    def notification_type(self) -> str:
        """The channel this client serves: "sms", "email" or "letter"."""

    def _timed(self, notification_id: str, call: Callable[[], T]) -> T:
        started = self.clock.monotonic()
        outcome = "error"
        try:
            result = call()
            outcome = "success"
            return result
        finally:
            duration = round(self.clock.monotonic() - started, 6)
            fields = {"provider_name": self.name, "notification_id": notification_id,
                      "duration": duration, "outcome": outcome}
            logger.info("provider request finished", extra=fields)


class SmsClient(Client):
    """A text message provider."""

    notification_type = "sms"

    def send_sms(self, message: SmsMessage) -> None:
        """Hand one text message to the provider, timed and logged; raises a ProviderError category."""
        self._timed(message.reference, lambda: self.try_send_sms(message))

    @abstractmethod
    def try_send_sms(self, message: SmsMessage) -> None:
        """Speak the provider's wire format; raise a `clarion.providers.errors` category on failure."""


class EmailClient(Client):
    """An email provider."""

    notification_type = "email"

    def send_email(self, message: EmailMessage) -> str:
        """Hand one email to the provider, timed and logged; returns the provider's reference."""
        return self._timed(message.reference, lambda: self.try_send_email(message))

    @abstractmethod
    def try_send_email(self, message: EmailMessage) -> str:
        """Speak the provider's wire format and return its reference for the message."""
