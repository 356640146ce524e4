"""Fault settings per simulated provider, their validation, and the decision each request gets.

Settings (all default to "no fault"):
  error_rate       share of requests answered with a 5xx
  throttle_rate    share of requests answered 429 (SMTP: 454)
  timeout_rate     share of requests never answered until the client gives up (bounded by the gate)
  latency_ms       added before every answer
  receipt_delay_s  seconds from acceptance to the delivery receipt (None = the sandbox default)
  fail_receipts    share of accepted messages that would have been delivered whose receipt reports a
                   temporary failure instead (MMG 4/6, Firetext 1/102, SES Bounce Transient); a message
                   to a failing test number or address fails as it would anyway
  down             every request is answered 503 (SMTP: 421), nothing else applies

One random draw in [0, 1) per request picks at most one fault, in the order timeout, throttle,
error, each taking its own share of the range; so with rates summing to at most 1 each share is
exact, and rates of 0 and 1 are deterministic.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Fault", "FaultBoard", "FaultSettings", "InvalidFaultSettings", "UnknownProvider"]

MAX_LATENCY_MS = 120_000
MAX_RECEIPT_DELAY_S = 86_400.0
RATES = ("error_rate", "throttle_rate", "timeout_rate", "fail_receipts")


class Fault(enum.Enum):
    """What a request gets instead of the provider's normal answer."""

    DOWN = "down"
    TIMEOUT = "timeout"
    THROTTLE = "throttle"
    ERROR = "error"


class InvalidFaultSettings(ValueError):
    """A fault change that is not valid; nothing was changed."""


class UnknownProvider(KeyError):
    """A provider name the sandbox does not simulate."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class FaultSettings:
    """One provider's faults."""

    error_rate: float = 0.0
    throttle_rate: float = 0.0
    latency_ms: float = 0.0
    timeout_rate: float = 0.0
    receipt_delay_s: float | None = None
    fail_receipts: float = 0.0
    down: bool = False

    def decide(self, draw: float) -> Fault | None:
        """The fault for a request whose random draw in [0, 1) is `draw`, or None."""
        if self.down:
            return Fault.DOWN
        threshold = self.timeout_rate
        if draw < threshold:
            return Fault.TIMEOUT
        threshold += self.throttle_rate
        if draw < threshold:
            return Fault.THROTTLE
        if draw < threshold + self.error_rate:
            return Fault.ERROR
        return None

    def as_json(self, default_receipt_delay_s: float) -> dict[str, Any]:
        """The settings as shown to operators, with the receipt delay that actually applies."""
        shown = dataclasses.asdict(self)
        if self.receipt_delay_s is None:
            shown["receipt_delay_s"] = default_receipt_delay_s
        return shown


FIELDS = tuple(field.name for field in dataclasses.fields(FaultSettings))


def validated_changes(changes: Any) -> dict[str, Any]:
    """The changes as FaultSettings field values; InvalidFaultSettings names the first bad one."""
    if not isinstance(changes, Mapping):
        raise InvalidFaultSettings("the fault settings must be a JSON object")
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in FIELDS:
            raise InvalidFaultSettings(f"unknown fault setting {name!r}; known: {', '.join(FIELDS)}")
        clean[name] = _validated(name, value)
    return clean


def _validated(name: str, value: Any) -> Any:
    if name == "down":
        if not isinstance(value, bool):
            raise InvalidFaultSettings("down must be true or false")
        return value
    if name == "receipt_delay_s" and value is None:
        return None  # back to the sandbox default
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise InvalidFaultSettings(f"{name} must be a number, got {value!r}")
    if name in RATES and not 0 <= value <= 1:
        raise InvalidFaultSettings(f"{name} must be between 0 and 1, got {value}")
    if name == "latency_ms" and not 0 <= value <= MAX_LATENCY_MS:
        raise InvalidFaultSettings(f"latency_ms must be between 0 and {MAX_LATENCY_MS}, got {value}")
    if name == "receipt_delay_s" and not 0 <= value <= MAX_RECEIPT_DELAY_S:
        raise InvalidFaultSettings(f"receipt_delay_s must be between 0 and {MAX_RECEIPT_DELAY_S:.0f}, got {value}")
    return float(value)


class FaultBoard:
    """The current fault settings of every simulated provider."""

    def __init__(self, providers: Iterable[str], *, default_receipt_delay_s: float,
                 provider_receipt_delays_s: Mapping[str, float] | None = None) -> None:
        self._settings = {name: FaultSettings() for name in providers}
        # A provider's own default delay (e.g. DVLA's despatch delay), else the sandbox's.
        self._default_delays_s = {name: (provider_receipt_delays_s or {}).get(name, default_receipt_delay_s)
                                  for name in self._settings}

    @property
    def providers(self) -> tuple[str, ...]:
        """The provider names, in registration order."""
        return tuple(self._settings)

    def of(self, provider: str) -> FaultSettings:
        """One provider's settings; UnknownProvider if the sandbox does not simulate it."""
        try:
            return self._settings[provider]
        except KeyError:
            raise UnknownProvider(f"no simulated provider {provider!r}; known: {', '.join(self._settings)}") from None

    def change(self, provider: str, changes: Any) -> FaultSettings:
        """Apply validated changes to one provider; on any bad value nothing changes."""
        current = self.of(provider)
        updated = dataclasses.replace(current, **validated_changes(changes))
        self._settings[provider] = updated
        return updated

    def receipt_delay_s(self, provider: str) -> float:
        """Seconds from acceptance to a provider's receipt."""
        delay = self.of(provider).receipt_delay_s
        return self._default_delays_s[provider] if delay is None else delay

    def reset(self) -> None:
        """Every provider back to no faults."""
        self._settings = {name: FaultSettings() for name in self._settings}

    def as_json(self) -> dict[str, dict[str, Any]]:
        """Every provider's settings, as operators see them."""
        return {name: settings.as_json(self.receipt_delay_s(name)) for name, settings in self._settings.items()}
