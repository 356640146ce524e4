"""Provider failures, grouped by what the caller does next.

ProviderError
  RetryableProviderError   retry, maybe elsewhere; counts as a fault against this provider
    ProviderUnavailable    HTTP 5xx, refused connection, malformed reply
    ProviderTimeout        no reply in time; the message may or may not have gone out
  ProviderThrottled        retry later; not a fault (HTTP 429, SES throttling)
  PermanentProviderError   never retry; the notification becomes technical-failure
  UnknownProvider          routing named a provider this process has no client for; retry
                           (another worker may have it, or the operator fixes the configuration)

Messages carry the provider name and what went wrong, never a phone number, address or reply body.
"""

from __future__ import annotations

__all__ = [
    "PermanentProviderError",
    "ProviderError",
    "ProviderThrottled",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RetryableProviderError",
    "UnknownProvider",
]


class ProviderError(Exception):
    """Something went wrong handing a notification to a provider."""

    def __init__(self, provider: str, detail: str) -> None:
        super().__init__(f"{provider}: {detail}")
        self.provider = provider
        self.detail = detail


class RetryableProviderError(ProviderError):
    """The provider failed; retry, perhaps with another provider. A fault against this provider."""


class ProviderUnavailable(RetryableProviderError):
    """HTTP 5xx, a refused connection or a reply clarion cannot read."""


class ProviderTimeout(RetryableProviderError):
    """No reply in time; the message may or may not have gone out."""


class ProviderThrottled(ProviderError):
    """The provider asked us to slow down; retry later. Not a fault."""


class PermanentProviderError(ProviderError):
    """The provider refused the message for good; never retry."""


class UnknownProvider(ProviderError):
    """No client is configured in this process for the provider routing chose."""
