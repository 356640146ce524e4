"""Fixtures: a running sandbox on loopback ports and the receiver its receipts go to (see harness.py)."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from clarion.clock import ManualClock
from clarion.sandbox import SandboxConfig, SandboxServer
from tests.unit.sandbox.harness import FIRETEXT_PASSWORD, MMG_PASSWORD, Receiver, RunningSandbox, receiver_handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running receipt receiver."""
    receiver = Receiver(server=ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler))
    receiver.server.RequestHandlerClass = receiver_handler(receiver)
    thread = threading.Thread(target=receiver.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def start_sandbox(receiver: Receiver, clock: ManualClock) -> Iterator[Callable[..., RunningSandbox]]:
    """Start a sandbox whose default receipt URLs point at the receiver; keyword args override SandboxConfig."""
    started: list[RunningSandbox] = []

    def start(*, rng: random.Random | None = None, **overrides: Any) -> RunningSandbox:
        options: dict[str, Any] = {
            "host": "127.0.0.1", "port": 0, "smtp_port": 0, "api_host_name": receiver.url, "receipt_delay_s": 0.0,
            "receipt_passwords": {"mmg": (MMG_PASSWORD,), "firetext": (FIRETEXT_PASSWORD,)},
            "receipt_retry_delays_s": (0.0, 0.0)}
        options.update(overrides)
        sandbox = RunningSandbox(SandboxServer(SandboxConfig(**options), clock=clock, rng=rng or random.Random(7)))
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(start_sandbox: Callable[..., RunningSandbox]) -> RunningSandbox:
    """A running sandbox with default options."""
    return start_sandbox()
