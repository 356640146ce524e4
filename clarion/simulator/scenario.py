"""A simulation scenario: traffic, settings, and what goes wrong with which provider when.

```
{"duration_minutes": 2880, "messages_per_minute": 120,
 "settings": {"SMS_PROVIDER_RESTING_POINTS": {"mmg": 51, "firetext": 49}},
 "providers": {"mmg": [{"from_minute": 0, "to_minute": 1800, "error_rate": 1.0}],
               "firetext": [{"from_minute": 600, "to_minute": 660, "receipt_delay_seconds": 400}]}}
```

Outside its phases a provider is healthy: no faults, receipts after 5 s. Minutes may be fractional
(a blip of one second is `"to_minute": 600.0167`). `settings` overrides any setting by its
environment name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from clarion.config import Settings

__all__ = ["HEALTHY", "Phase", "Scenario", "ScenarioError", "load_scenario"]

IDENTIFIER = re.compile(r"^[a-z0-9_-]{1,32}$")


class ScenarioError(Exception):
    """The scenario file cannot be simulated; the message says what to fix."""


class Phase(BaseModel):
    """How a provider behaves from one minute to another."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_minute: float = Field(ge=0)
    to_minute: float
    error_rate: float = Field(0.0, ge=0, le=1)  # sends refused with a 5xx
    timeout_rate: float = Field(0.0, ge=0, le=1)  # sends with no reply before the provider timeout
    receipt_delay_seconds: float = Field(5.0, ge=0)  # from hand-off to the delivery receipt
    undelivered_rate: float = Field(0.0, ge=0, le=1)  # accepted sends whose receipt never comes

    @model_validator(mode="after")
    def _ordered(self) -> Phase:
        if self.to_minute <= self.from_minute:
            raise ValueError(f"to_minute ({self.to_minute}) must be after from_minute ({self.from_minute})")
        if self.error_rate + self.timeout_rate > 1:
            raise ValueError("error_rate and timeout_rate together cannot exceed 1")
        return self

    def covers(self, minute: float) -> bool:
        return self.from_minute <= minute < self.to_minute


HEALTHY = Phase(from_minute=0, to_minute=float("inf"))


class Scenario(BaseModel):
    """What to simulate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = ""
    duration_minutes: float = Field(gt=0, le=60 * 24 * 31)
    messages_per_minute: float = Field(gt=0, le=60_000)
    settings: dict[str, Any] = {}
    providers: dict[str, list[Phase]]
    seed: int = 0  # the same seed gives the same run

    @field_validator("providers")
    @classmethod
    def _known_shape(cls, providers: dict[str, list[Phase]]) -> dict[str, list[Phase]]:
        if not providers:
            raise ValueError("name at least one provider")
        bad = [name for name in providers if not IDENTIFIER.match(name)]
        if bad:
            raise ValueError(f"provider identifiers are 1-32 of a-z, 0-9, _ and -: {bad}")
        return providers

    @field_validator("settings")
    @classmethod
    def _real_settings(cls, settings: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(name for name in settings if name.lower() not in Settings.model_fields)
        if unknown:
            raise ValueError(f"unknown settings {unknown}; use environment names such as PROVIDER_FAULT_GUARD_S")
        return settings

    def phase(self, provider: str, minute: float) -> Phase:
        """How the provider behaves at this minute."""
        for phase in self.providers.get(provider, ()):
            if phase.covers(minute):
                return phase
        return HEALTHY

    def settings_for(self, database_url: str) -> Settings:
        """clarion's settings with the scenario's overrides, on the simulation's own database."""
        overrides = {name.lower(): value for name, value in self.settings.items()}
        try:
            return Settings(**{**overrides, "database_url": database_url, "environment": "test"})
        except ValidationError as exc:
            raise ScenarioError(f"scenario settings: {_first_error(exc)}") from None


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario file; ScenarioError says what is wrong with it."""
    try:
        return Scenario.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise ScenarioError(f"cannot read {path}: {exc.strerror}") from None
    except ValidationError as exc:
        raise ScenarioError(f"{path}: {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]
