"""Provider clients (the wire formats), their registry and the failure categories they raise."""

from clarion.providers.base import Client, EmailClient, EmailMessage, SmsClient, SmsMessage
from clarion.providers.errors import (
    PermanentProviderError,
    ProviderError,
    ProviderThrottled,
    ProviderTimeout,
    ProviderUnavailable,
    RetryableProviderError,
    UnknownProvider,
)
from clarion.providers.registry import NotificationProviderClients

__all__ = [
    "Client",
    "EmailClient",
    "EmailMessage",
    "NotificationProviderClients",
    "PermanentProviderError",
    "ProviderError",
    "ProviderThrottled",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RetryableProviderError",
    "SmsClient",
    "SmsMessage",
    "UnknownProvider",
]
