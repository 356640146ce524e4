"""The provider clients of one worker process, built from Settings on the process's event loop."""

from __future__ import annotations

from clarion.clock import Clock
from clarion.config import Settings
from clarion.providers.registry import NotificationProviderClients

__all__ = ["build_clients"]


async def build_clients(settings: Settings, *, clock: Clock) -> NotificationProviderClients:
    """Every provider client these settings configure (HTTP sessions belong to the running loop)."""
    return NotificationProviderClients([])
