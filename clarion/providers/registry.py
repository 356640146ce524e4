"""The provider clients one process may use, built once from data and passed down."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clarion.providers.base import Client
from clarion.providers.errors import UnknownProvider

__all__ = ["NotificationProviderClients"]


class NotificationProviderClients:
    """The provider clients this process may use, keyed by channel and name."""

    def __init__(self, clients: Iterable[Client], *, sessions: Iterable[Any] = ()) -> None:
        self._clients = {(client.notification_type, client.name): client for client in clients}
        self._sessions = list(sessions)  # pooled HTTP sessions the clients share; closed with them

    def get(self, name: str, notification_type: str) -> Client | None:
        """The client for this provider and channel, or None when none is configured."""
        return self._clients.get((notification_type, name))

    async def close(self) -> None:
        """Close every client and the sessions they share (at worker shutdown)."""
        for client in self._clients.values():
            await client.close()
        for session in self._sessions:
            await session.close()

    def get_client_by_name_and_type(self, name: str, notification_type: str) -> Client:
        """The client for this provider and channel; UnknownProvider names the ones configured."""
        if (notification_type, name) not in self._clients:
            known = sorted(n for t, n in self._clients if t == notification_type)
            raise UnknownProvider(name, f"no {notification_type} client configured; configured: {known}")
        return self._clients[(notification_type, name)]

    def configured(self) -> set[tuple[str, str]]:
        """Every (name, channel) this process has a client for."""
        return {(name, notification_type) for notification_type, name in self._clients}

    def names(self, notification_type: str) -> list[str]:
        """The configured provider names for a channel."""
        return sorted(n for t, n in self._clients if t == notification_type)
