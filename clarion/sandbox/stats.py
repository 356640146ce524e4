"""Counters per simulated provider, read by tests and benchmarks through GET /_sandbox/stats.

For an HTTP provider, requests = accepted + duplicates + rejected + faults_injected (a request still
hanging on a timeout fault is already counted as a fault). SMTP counts a request per message (MAIL
FROM), a rejection per refused recipient and an acceptance per message taken (DATA). Receipts:
every scheduled receipt ends as sent or failed (after its retries); receipts_retried counts retries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ProviderStats", "Stats"]


@dataclass(slots=True)
class ProviderStats:
    """What one simulated provider has seen and done."""

    requests: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    faults_injected: int = 0
    receipts_scheduled: int = 0
    receipts_sent: int = 0
    receipts_retried: int = 0
    receipts_failed: int = 0


class Stats:
    """The counters of every simulated provider."""

    def __init__(self, providers: Iterable[str]) -> None:
        self._providers = {name: ProviderStats() for name in providers}

    def of(self, provider: str) -> ProviderStats:
        """One provider's counters."""
        return self._providers[provider]

    def reset(self) -> None:
        """Every counter back to zero (in place: handlers may hold a provider's counters)."""
        for counts in self._providers.values():
            for field in dataclasses.fields(counts):
                setattr(counts, field.name, 0)

    def as_json(self) -> dict[str, dict[str, int]]:
        """Every provider's counters."""
        return {name: dataclasses.asdict(counts) for name, counts in self._providers.items()}
