"""The provider clients of one worker process, built from Settings on the process's event loop.

MMG, Firetext, SES and DVLA are always configured (their addresses default to the real providers;
`clarion up` points them at the sandbox); SMTP only when SMTP_HOST is set. The SMS clients share one
pooled session and DVLA has its own (its TLS and timeout differ); both belong to the loop this runs on.
"""

from __future__ import annotations

import logging
from typing import Any

from clarion.clock import Clock
from clarion.config import Settings
from clarion.providers.base import Client
from clarion.providers.email.ses import ses_client_from_settings
from clarion.providers.email.smtp import smtp_client_from_settings
from clarion.providers.http import make_http_session
from clarion.providers.letter import dvla_client_from_settings
from clarion.providers.metrics import ProviderRequestMetrics
from clarion.providers.registry import NotificationProviderClients
from clarion.providers.sms.firetext import firetext_client_from_settings
from clarion.providers.sms.mmg import mmg_client_from_settings

__all__ = ["build_clients"]

logger = logging.getLogger(__name__)


def _statsd(settings: Settings) -> Any:
    if not settings.statsd_host:
        return None
    import statsd

    return statsd.StatsClient(settings.statsd_host, settings.statsd_port)


async def build_clients(settings: Settings, *, clock: Clock) -> NotificationProviderClients:
    """Every provider client these settings configure (HTTP sessions belong to the running loop)."""
    metrics = ProviderRequestMetrics(_statsd(settings))
    session = make_http_session(connections=settings.provider_connections, timeout_s=settings.provider_timeout_s)
    clients: list[Client] = [
        mmg_client_from_settings(settings, session=session, clock=clock, metrics=metrics),
        firetext_client_from_settings(settings, session=session, clock=clock, metrics=metrics),
        ses_client_from_settings(settings, clock=clock, metrics=metrics),
    ]
    smtp = smtp_client_from_settings(settings, clock=clock, metrics=metrics)
    if smtp is not None:
        clients.append(smtp)
    dvla_session = make_http_session(connections=settings.provider_connections, timeout_s=settings.dvla_timeout_s)
    try:
        clients.append(dvla_client_from_settings(settings, session=dvla_session, clock=clock, metrics=metrics))
    except ValueError as exc:  # a bad DVLA setting must not stop texts and emails going out
        logger.error("letters cannot be sent to DVLA until its settings are fixed", extra={"error": str(exc)})
    return NotificationProviderClients(clients, sessions=[session, dvla_session])
