"""A worker killed in the middle of a batch loses nothing and sends nothing twice.

Real processes on the production set-up (PostgreSQL, Redis broker): the sandbox, the API and a
worker. Texts go out while the sandbox's providers take a second to answer; the worker is killed
with SIGKILL while calls are in flight. A new worker and the scheduler then take over with short
claim and re-queue windows. Every text must end `delivered`, and the sandbox must have delivered
each exactly once (a provider drops a repeated reference, as MMG's `cid` and Firetext's `reference`
allow; clarion never resends before its claim lapses).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from notifications_python_client import NotificationsAPIClient
from sqlalchemy import text

from clarion.crypto import SecretBox
from clarion.db.engine import make_engine, make_sessions
from clarion.manage import keys, services, templates
from clarion.up import sandbox_environment
from tests.conftest import TEST_SECRET, require_server

TEXTS = 60
WAIT_S = 60
REDIS_DB = "redis://127.0.0.1:6379/12"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(what: str, check: object, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    pytest.fail(f"no {what} within {timeout_s} s")


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Clarion:
    """clarion's processes on one database and broker, started and stopped by the test."""

    def __init__(self, folder: Path, database_url: str) -> None:
        self.folder, self.api_port, self.sandbox_port = folder, free_port(), free_port()
        api, sandbox = f"http://127.0.0.1:{self.api_port}", f"http://127.0.0.1:{self.sandbox_port}"
        smtp_port = free_port()
        self.env = {**os.environ, "DATABASE_URL": database_url, "BROKER_URL": REDIS_DB, "REDIS_URL": REDIS_DB,
                    "SECRET_KEY": TEST_SECRET, "ENVIRONMENT": "test", "API_PORT": str(self.api_port),
                    "API_HOST_NAME": api, "SANDBOX_PORT": str(self.sandbox_port),
                    "SANDBOX_SMTP_PORT": str(smtp_port), "SANDBOX_RECEIPT_DELAY_S": "0.2",
                    # Short windows: a killed worker's claims lapse in 3 s, and the sweeper re-queues
                    # anything still `created` 2 s after its last attempt, every second.
                    "DELIVERY_CLAIM_S": "3", "REQUEUE_CREATED_AFTER_S": "2", "SWEEP_INTERVAL_S": "1",
                    **sandbox_environment(sandbox_url=sandbox, api_url=api, smtp_port=smtp_port,
                                          receipt_token="kill-test-token", environ={})}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("ab")
        process = subprocess.Popen([sys.executable, "-m", "clarion", *args], cwd=self.folder, env=self.env,
                                   stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        self.processes[name] = process
        return process

    def set_faults(self, provider: str, **faults: float) -> None:
        request = urllib.request.Request(f"http://127.0.0.1:{self.sandbox_port}/_sandbox/faults/{provider}",
                                         data=json.dumps(faults).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5):
            pass

    def sandbox_stats(self) -> dict[str, dict[str, int]]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.sandbox_port}/_sandbox/stats", timeout=5) as reply:
            return json.loads(reply.read())["providers"]

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}" for path in self.folder.glob("*.log"))


@pytest.fixture
def clarion(postgres_url: str, tmp_path: Path) -> Iterator[Clarion]:
    require_server("Redis", "127.0.0.1", 6379)
    broker = redis.Redis.from_url(REDIS_DB)  # this test's own Redis database: nothing else uses it
    broker.flushdb()
    running = Clarion(tmp_path, postgres_url)
    try:
        yield running
    finally:
        running.stop()
        broker.flushdb()


def live_service(database_url: str) -> tuple[str, str]:
    """A live service allowed far more than the test sends: (normal API key, text template id)."""
    engine = make_engine(database_url)
    now = datetime.now(UTC)
    with make_sessions(engine).begin() as session:
        service = services.create_service(session, name="Kill test", now=now, rate_limit=100_000)
        key = keys.create_api_key(session, service, key_type="normal", name="kill", box=SecretBox(TEST_SECRET),
                                  now=now)
        template = templates.create_template(session, service, template_type="sms", name="t",
                                             content="Hello ((name))", now=now)
        made = key.api_key, str(template.id)
    engine.dispose()
    return made


def statuses(database_url: str) -> dict[str, int]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(text("SELECT status, count(*) FROM notifications GROUP BY status")).all())
    finally:
        engine.dispose()


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
        clarion: Clarion, postgres_url: str) -> None:
    api_key, template_id = live_service(postgres_url)
    clarion.start("sandbox", "sandbox")
    clarion.start("api", "api")
    wait_until("sandbox", lambda: listening(clarion.sandbox_port))
    wait_until("api", lambda: listening(clarion.api_port))
    for provider in ("mmg", "firetext"):
        clarion.set_faults(provider, latency_ms=1500)
    worker = clarion.start("worker", "worker")

    client = NotificationsAPIClient(api_key, base_url=f"http://127.0.0.1:{clarion.api_port}")
    for _ in range(TEXTS):
        client.send_sms_notification(phone_number="07700900123", template_id=template_id,
                                     personalisation={"name": "Ada"})

    def calls_in_flight() -> bool:
        stats = clarion.sandbox_stats()
        return stats["mmg"]["requests"] + stats["firetext"]["requests"] > 0

    wait_until("provider calls in flight", calls_in_flight)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    assert statuses(postgres_url).get("created", 0) > 0, "the kill came too late to interrupt a batch"

    for provider in ("mmg", "firetext"):
        clarion.set_faults(provider, latency_ms=0)
    clarion.start("worker-after", "worker")
    clarion.start("scheduler", "scheduler")
    deadline = time.monotonic() + 90
    while statuses(postgres_url) != {"delivered": TEXTS} and time.monotonic() < deadline:
        time.sleep(0.2)
    assert statuses(postgres_url) == {"delivered": TEXTS}, clarion.logs()

    stats = clarion.sandbox_stats()
    delivered_by_providers = stats["mmg"]["accepted"] + stats["firetext"]["accepted"]
    receipts = stats["mmg"]["receipts_sent"] + stats["firetext"]["receipts_sent"]
    assert (delivered_by_providers, receipts) == (TEXTS, TEXTS), clarion.logs()
