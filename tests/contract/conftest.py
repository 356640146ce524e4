"""A real clarion API on a loopback port, and the official Notify client pointed at it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from notifications_python_client import NotificationsAPIClient
from sqlalchemy.orm import Session, sessionmaker

from clarion.api.app import create_app
from clarion.config import Settings
from clarion.db.engine import make_engine, make_sessions
from tests.conftest import TEST_SECRET, Seeded


class OffsetClock:
    """The real clock, shifted by an offset a test can change (to make the client's iat look stale)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.monotonic_offset = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def monotonic(self) -> float:
        return time.monotonic() + self.monotonic_offset

    def expire_caches(self) -> None:
        """Jump monotonic time past every cache TTL, so the API reads the database afresh."""
        self.monotonic_offset += 3600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveApi:
    url: str
    clock: OffsetClock
    seeded: Seeded
    sessions: sessionmaker[Session]

    def client(self, key_type: str = "normal") -> NotificationsAPIClient:
        return NotificationsAPIClient(self.seeded.api_keys[key_type], base_url=self.url, timeout=10)


def serve(app: object, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API did not start")
        time.sleep(0.02)
    return server, thread


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "live_settings(**fields): Settings fields the live_api fixture overrides")


@pytest.fixture
def live_api(request: pytest.FixtureRequest, sqlite_url: str, seeded_live: Seeded,
             tmp_path: Path) -> Iterator[LiveApi]:
    """The app on a loopback port; `@pytest.mark.live_settings(api_page_size=2)` changes its Settings."""
    port = free_port()
    marker = request.node.get_closest_marker("live_settings")
    overrides = dict(marker.kwargs) if marker else {}
    settings = Settings(environment="test", database_url=sqlite_url, broker_url="memory://", secret_key=TEST_SECRET,
                        api_host_name=f"http://127.0.0.1:{port}", redis_url=None,
                        letters_folder=tmp_path / "letters", **overrides)
    clock = OffsetClock()
    server, thread = serve(create_app(settings, clock=clock), port)
    engine = make_engine(sqlite_url)
    try:
        yield LiveApi(url=f"http://127.0.0.1:{port}", clock=clock, seeded=seeded_live, sessions=make_sessions(engine))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture
def seeded_live(sqlite_url: str, box: object) -> Seeded:
    """The shared `seeded` service, made in the SQLite database the live API serves."""
    from clarion.clock import SystemClock
    from tests.conftest import make_seeded

    engine = make_engine(sqlite_url)
    try:
        return make_seeded(make_sessions(engine), box, SystemClock())
    finally:
        engine.dispose()
