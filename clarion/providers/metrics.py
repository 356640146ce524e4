"""Per-provider request metrics: StatsD with the seed's names and Prometheus with the same meaning.

StatsD: `clients.{provider}.success`, `clients.{provider}.error` (counters) and
`clients.{provider}.request-time` (timer, ms), sent only when STATSD_HOST is set. Prometheus:
`clarion_provider_requests_total{provider,outcome}` and `clarion_provider_request_seconds{provider}`
in the process's default registry, which the API's /metrics serves (and, with
PROMETHEUS_MULTIPROC_DIR set, the worker processes' too).
"""

from __future__ import annotations

from typing import Protocol

from prometheus_client import Counter, Histogram

__all__ = ["NO_METRICS", "ProviderMetrics", "ProviderRequestMetrics"]

REQUEST_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_requests = Counter("clarion_provider_requests", "Provider requests by outcome", ["provider", "outcome"])
_request_time = Histogram("clarion_provider_request_seconds", "Provider request duration", ["provider"],
                          buckets=REQUEST_BUCKETS_S)


class ProviderMetrics(Protocol):
    """Where a client reports each request it made."""

    def record(self, provider: str, *, success: bool, duration_s: float) -> None: ...


class ProviderRequestMetrics:
    """Prometheus always; StatsD too when a `statsd.StatsClient` is given."""

    def __init__(self, statsd: object | None = None) -> None:
        self._statsd = statsd

    def record(self, provider: str, *, success: bool, duration_s: float) -> None:
        outcome = "success" if success else "error"
        _requests.labels(provider, outcome).inc()
        _request_time.labels(provider).observe(duration_s)
        if self._statsd is not None:
            self._statsd.incr(f"clients.{provider}.{outcome}")  # type: ignore[attr-defined]
            self._statsd.timing(f"clients.{provider}.request-time", duration_s * 1000)  # type: ignore[attr-defined]


class _NoMetrics:
    def record(self, provider: str, *, success: bool, duration_s: float) -> None:
        pass


NO_METRICS: ProviderMetrics = _NoMetrics()
