"""Prometheus metrics for the API: accepted notifications and request latency, served at /metrics.

Each app has its own registry, so several apps in one process (tests) do not collide.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ApiMetrics", "LatencyMiddleware"]

LATENCY_BUCKETS_S = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ApiMetrics:
    """The API's counters and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.accepted = Counter("clarion_notifications_accepted", "Notifications accepted by the API",
                                ["notification_type", "key_type"], registry=self.registry)
        self.latency = Histogram("clarion_api_request_duration_seconds", "API request latency",
                                 ["method", "route", "status"], buckets=LATENCY_BUCKETS_S, registry=self.registry)

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


class LatencyMiddleware:
    """Times every HTTP request; the route label is the route's path template, never the raw path."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route: Any = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            self.metrics.latency.labels(scope["method"], label, str(status[0])).observe(time.perf_counter() - started)
