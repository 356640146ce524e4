"""The letter channel's client: `LetterClient.send_letter` times and logs each print request around
a provider's own `try_send_letter`, as `SmsClient` and `EmailClient` do for theirs."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

from clarion.providers.base import Client

__all__ = ["LetterClient", "PrintJob"]


@dataclass(frozen=True)
class PrintJob:
    """One letter as a print provider receives it; the PDF travels beside it."""

    notification_id: str  # the print job's id; DVLA quotes it back as the callback's jobId
    reference: str  # the letter's own reference (notification.reference), DVLA's businessIdentifier
    address_lines: tuple[str, ...]  # normalised, recipient first; the last is the postcode, country or BFPO line
    postage: str  # first, second, economy, europe or rest-of-world
    service_id: str
    organisation_id: str | None  # None when the service belongs to no organisation


class LetterClient(Client):
    """A letter printing provider."""

    notification_type = "letter"

    async def send_letter(self, job: PrintJob, pdf: bytes) -> None:
        """Hand one letter to the provider for printing, timed and logged; raises a ProviderError category."""
        await self._timed(job.notification_id, lambda: self.try_send_letter(job, pdf))

    @abstractmethod
    async def try_send_letter(self, job: PrintJob, pdf: bytes) -> None:
        """Speak the provider's wire format; raise a `clarion.providers.errors` category on failure."""
