"""Notify's delivery retry policy: the first retry at once, then every 5 minutes, 48 in all."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a failed delivery again, and when to give up (technical-failure)."""

    max_retries: int = 48
    delay_s: int = 300

    def countdown_after(self, attempt: int) -> int | None:
        """Seconds before retrying after attempt `attempt` (0 = the first) failed; None means give up."""
        if attempt >= self.max_retries:
            return None
        return 0 if attempt == 0 else self.delay_s
