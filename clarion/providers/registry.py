"""The provider clients one process may use, built once from data and passed down."""

from __future__ import annotations

from collections.abc import Iterable

from clarion.providers.base import Client
from clarion.providers.errors import UnknownProvider

__all__ = ["NotificationProviderClients"]


class NotificationProviderClients:
    """The provider clients this process may use, keyed by channel and name."""

    def __init__(self, clients: Iterable[Client]) -> None:
        self._clients = {(client.notification_type, client.name): client for client in clients}

    def get_client_by_name_and_type(self, name: str, notification_type: str) -> Client:
        """The client for this provider and channel; UnknownProvider names the ones configured."""
        if (notification_type, name) not in self._clients:
            known = sorted(n for t, n in self._clients if t == notification_type)
            raise UnknownProvider(name, f"no {notification_type} client configured; configured: {known}")
        return self._clients[(notification_type, name)]

    def names(self, notification_type: str) -> list[str]:
        """The configured provider names for a channel."""
        return sorted(n for t, n in self._clients if t == notification_type)
