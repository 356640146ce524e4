"""Helpers for sandbox tests: a real sandbox on loopback ports (its event loop in a thread) and a loopback
receiver for its receipts.

The sandbox runs on a ManualClock, so receipt times are exact, with a receipt delay of 0 unless a test
says otherwise and no pauses between receipt retries. Waits below have deadlines only so a broken
sandbox fails a test instead of hanging it; no assertion depends on how long anything took.
"""

from __future__ import annotations

import asyncio
import base64
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import httpx
import pytest

from clarion.sandbox import SandboxServer
from clarion.sandbox.state import SandboxState

T = TypeVar("T")
WAIT_S = 10.0
MMG_PASSWORD = "mmg-receipt-secret"
FIRETEXT_PASSWORD = "firetext-receipt-secret"


def basic_auth(user: str, password: str) -> str:
    """The Authorization header a receipt with these credentials must carry."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Captured:
    """One request the receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A loopback HTTP server standing in for clarion's receipt endpoints; it records every request."""

    server: ThreadingHTTPServer
    requests: queue.Queue[Captured] = field(default_factory=queue.Queue)
    statuses: deque[int] = field(default_factory=deque)  # answers for the next requests; then 200

    @property
    def url(self) -> str:
        """The receiver's base URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def next(self) -> Captured:
        """The next request it received (fails the test if none comes)."""
        try:
            return self.requests.get(timeout=WAIT_S)
        except queue.Empty:
            pytest.fail("the receiver got no request")

    def all_received(self) -> list[Captured]:
        """Every request received so far, emptying the record."""
        taken = []
        while not self.requests.empty():
            taken.append(self.requests.get_nowait())
        return taken


def receiver_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.requests.put(Captured("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status = receiver.statuses.popleft() if receiver.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


class RunningSandbox:
    """A SandboxServer on its own event loop thread, with helpers to talk to it."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.run(server.start())
        self.http = httpx.Client(base_url=server.url, timeout=WAIT_S)

    @property
    def url(self) -> str:
        """The sandbox's HTTP base URL."""
        return self.server.url

    @property
    def state(self) -> SandboxState:
        """The sandbox's shared state (touch it only through `call`)."""
        assert self.server.state is not None
        return self.server.state

    def run(self, coroutine: Any) -> Any:
        """Run a coroutine on the sandbox's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(WAIT_S)

    def call(self, function: Callable[[], T]) -> T:
        """Call a function on the sandbox's loop (its state is not thread-safe) and return its result."""
        future: Future[T] = Future()

        def call_and_settle() -> None:
            try:
                future.set_result(function())
            except BaseException as error:  # handed to the test thread
                future.set_exception(error)

        self.loop.call_soon_threadsafe(call_and_settle)
        return future.result(WAIT_S)

    def stats(self, provider: str) -> dict[str, int]:
        """One provider's counters, read over HTTP as a benchmark would."""
        reply = self.http.get("/_sandbox/stats")
        assert reply.status_code == 200
        return reply.json()["providers"][provider]

    def set_faults(self, provider: str, **changes: Any) -> dict[str, Any]:
        """Change faults through the control endpoint."""
        reply = self.http.post(f"/_sandbox/faults/{provider}", json=changes)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def wait_for(self, condition: Callable[[], bool]) -> None:
        """Until `condition`, called on the sandbox's loop, holds (polls, with a deadline)."""
        deadline = time.monotonic() + WAIT_S
        while not self.call(condition):
            if time.monotonic() > deadline:
                pytest.fail("the sandbox never reached the expected state")
            time.sleep(0.01)

    def wait_until_receipts_done(self) -> None:
        """Until every scheduled receipt has been posted or given up."""
        self.wait_for(lambda: self.state.receipts.pending == 0)

    def stop(self) -> None:
        """Stop the sandbox and its loop (once; later calls do nothing)."""
        if self.loop.is_closed():
            return
        self.run(self.server.stop())
        self.http.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(WAIT_S)
        self.loop.close()
