"""Every provider request is counted and timed: StatsD with the seed's names, and Prometheus."""

from __future__ import annotations

import asyncio
import socket

import pytest
import statsd
from prometheus_client import REGISTRY

from clarion.clock import ManualClock
from clarion.providers.errors import ProviderUnavailable
from clarion.providers.metrics import ProviderRequestMetrics
from tests.conftest import START
from tests.unit.delivery.fakes import FakeSms
from tests.unit.providers.test_base import MESSAGE


@pytest.fixture
def statsd_server() -> socket.socket:
    """A UDP socket on loopback standing in for the StatsD daemon."""
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(5)
    yield server
    server.close()


def received(server: socket.socket, count: int) -> list[str]:
    return [server.recv(1024).decode() for _ in range(count)]


def prometheus(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_successful_request_is_counted_and_timed(statsd_server: socket.socket) -> None:
    clock = ManualClock(START)
    metrics = ProviderRequestMetrics(statsd.StatsClient("127.0.0.1", statsd_server.getsockname()[1]))
    client = FakeSms(name="mmg", clock=clock, metrics=metrics, during=lambda _: clock.advance(seconds=0.25))
    before = prometheus("clarion_provider_requests_total", provider="mmg", outcome="success")

    asyncio.run(client.send_sms(MESSAGE))

    assert received(statsd_server, 2) == ["clients.mmg.success:1|c", "clients.mmg.request-time:250.000000|ms"]
    assert prometheus("clarion_provider_requests_total", provider="mmg", outcome="success") == before + 1


def test_a_failed_request_is_counted_as_an_error(statsd_server: socket.socket) -> None:
    metrics = ProviderRequestMetrics(statsd.StatsClient("127.0.0.1", statsd_server.getsockname()[1]))
    client = FakeSms(name="firetext", clock=ManualClock(START), metrics=metrics,
                     error=ProviderUnavailable("firetext", "HTTP 503"))
    before = prometheus("clarion_provider_request_seconds_count", provider="firetext")

    with pytest.raises(ProviderUnavailable):
        asyncio.run(client.send_sms(MESSAGE))

    assert received(statsd_server, 2)[0] == "clients.firetext.error:1|c"
    assert prometheus("clarion_provider_request_seconds_count", provider="firetext") == before + 1
