"""What every simulated provider shares: configuration, clock, randomness, faults, counters, receipts.

`SandboxConfig` is the sandbox's part of Settings, taken once at the edge. `SandboxState` holds the
collaborators built from it; the provider modules receive it and nothing else.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from clarion.clock import Clock
from clarion.config import Settings
from clarion.sandbox.faults import FaultBoard
from clarion.sandbox.poster import DEFAULT_RETRY_DELAYS_S, ReceiptScheduler
from clarion.sandbox.receipts import ReceiptTarget
from clarion.sandbox.sns_signing import SnsSigner
from clarion.sandbox.stats import Stats

__all__ = ["SandboxConfig", "SandboxState"]

# Where each provider posts receipts when a message carried no receipt URL (the URL "set up on their side").
DEFAULT_RECEIPT_PATHS = {"mmg": "/notifications/sms/mmg", "firetext": "/notifications/sms/firetext",
                         "ses": "/notifications/email/ses"}


@dataclass(frozen=True)
class SandboxConfig:
    """The settings the sandbox runs with."""

    host: str = "127.0.0.1"
    port: int = 6300
    smtp_port: int = 6325
    api_host_name: str = "http://127.0.0.1:6011"
    receipt_delay_s: float = 5.0
    provider_receipt_delays_s: Mapping[str, float] = field(default_factory=dict)  # per provider, if not the above
    aws_region: str = "eu-west-1"
    sns_signature_version: str = "1"
    receipt_user: str = "notify"
    # provider -> clarion's receipt passwords (MMG_INBOUND_SMS_AUTH, ...); the first one is used
    receipt_passwords: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    receipt_retry_delays_s: tuple[float, ...] = DEFAULT_RETRY_DELAYS_S

    @classmethod
    def from_settings(cls, settings: Settings, *, host: str | None = None, port: int | None = None,
                      smtp_port: int | None = None) -> SandboxConfig:
        """The sandbox's part of Settings; host and ports may be overridden (0 = any free port)."""
        return cls(
            host=settings.sandbox_host if host is None else host,
            port=settings.sandbox_port if port is None else port,
            smtp_port=settings.sandbox_smtp_port if smtp_port is None else smtp_port,
            api_host_name=settings.api_host_name, receipt_delay_s=settings.sandbox_receipt_delay_s,
            aws_region=settings.aws_region, sns_signature_version=settings.sandbox_sns_signature_version,
            receipt_user=settings.receipt_basic_auth_user,
            receipt_passwords={"mmg": tuple(settings.mmg_inbound_sms_auth),
                               "firetext": tuple(settings.firetext_inbound_sms_auth)})

    def default_receipt_target(self, provider: str) -> ReceiptTarget:
        """Where `provider` posts a receipt for a message that carried no receipt URL."""
        url = self.api_host_name.rstrip("/") + DEFAULT_RECEIPT_PATHS[provider]
        passwords = self.receipt_passwords.get(provider, ())
        return ReceiptTarget(url, (self.receipt_user, passwords[0]) if passwords else None)


@dataclass
class SandboxState:
    """The sandbox's shared collaborators; one per running sandbox, used on its event loop only."""

    config: SandboxConfig
    public_url: str  # how clients reach this sandbox, e.g. http://127.0.0.1:6300
    clock: Clock
    rng: random.Random
    faults: FaultBoard
    stats: Stats
    receipts: ReceiptScheduler
    signer: SnsSigner
    stopping: asyncio.Event = field(default_factory=asyncio.Event)  # set on shutdown: hung requests end
    hanging: int = 0  # requests held by a timeout fault whose answer is not written yet
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # injectable, so latency is testable

    def fails_receipt(self, provider: str) -> bool:
        """Whether the fail_receipts fault picks this accepted message."""
        return self.rng.random() < self.faults.of(provider).fail_receipts

    def receipt_timing(self, provider: str) -> tuple[float, datetime]:
        """For a message accepted now: seconds until its receipt, and the delivery time the receipt reports."""
        delay_s = self.faults.receipt_delay_s(provider)
        return delay_s, self.clock.now() + timedelta(seconds=delay_s)
