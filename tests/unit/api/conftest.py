"""Fixtures for the public API: the real app (create_app) on the test database, a manual clock, and
JWTs signed the way notifications-python-client signs them."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from celery import Celery
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

with warnings.catch_warnings():  # starlette suggests httpx2; httpx is what the project installs
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from clarion.api.app import create_app
from clarion.clock import ManualClock
from clarion.config import Settings
from clarion.db.models import Service
from clarion.worker.app import make_celery


def sign(api_key: str, *, iat: int, algorithm: str = "HS256", **claims: Any) -> str:
    """A JWT as the Notify client makes it: iss = service id, HMAC key = the key's secret string."""
    payload = {"iss": api_key[-73:-37], "iat": iat, **claims}
    secret = api_key[-36:]
    if algorithm == "HS512":
        secret = secret * 2  # PyJWT wants at least 64 bytes for HS512
    return jwt.encode(payload, secret, algorithm=algorithm)


class ApiClient:
    """A TestClient that signs every request with one of the seeded keys (normal by default)."""

    def __init__(self, client: TestClient, clock: ManualClock, api_keys: dict[str, str]) -> None:
        self.client, self.clock, self.api_keys = client, clock, api_keys

    def headers(self, key: str = "normal") -> dict[str, str]:
        token = sign(self.api_keys[key], iat=int(self.clock.now().timestamp()))
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(self, path: str, body: Any = None, *, key: str = "normal", content: bytes | None = None) -> Any:
        if content is not None:
            return self.client.post(path, content=content, headers=self.headers(key))
        return self.client.post(path, json=body, headers=self.headers(key))

    def get(self, path: str, *, key: str = "normal", params: Any = None) -> Any:
        return self.client.get(path, headers=self.headers(key), params=params)


@pytest.fixture
def celery_app(settings: Settings) -> Celery:
    return make_celery(settings)  # broker memory://


@pytest.fixture
def app(settings: Settings, clock: ManualClock, celery_app: Celery) -> FastAPI:
    return create_app(settings, clock=clock, celery_app=celery_app)


@pytest.fixture
def test_client(app: FastAPI, seeded: Any) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def api(test_client: TestClient, clock: ManualClock, seeded: Any, empty_queues: None) -> ApiClient:
    return ApiClient(test_client, clock, seeded.api_keys)


@pytest.fixture
def change_service(sessions: sessionmaker[Session], seeded: Any, clock: ManualClock) -> Callable[..., None]:
    """Change the seeded service's columns, then let the API's 2 s cache expire."""
    def change(**fields: Any) -> None:
        with sessions.begin() as session:
            service = session.get(Service, seeded.service.id)
            for name, value in fields.items():
                setattr(service, name, value)
        clock.advance(seconds=3)
    return change


def error_of(reply: Any, status_code: int) -> dict[str, str]:
    """The single error of a Notify error body, after checking the body's shape."""
    assert reply.status_code == status_code, reply.text
    body = reply.json()
    assert body["status_code"] == status_code
    assert len(body["errors"]) == 1, body
    assert set(body["errors"][0]) == {"error", "message"}
    return body["errors"][0]


def messages_of(reply: Any, status_code: int = 400) -> list[str]:
    """Every message of a Notify error body."""
    assert reply.status_code == status_code, reply.text
    body = reply.json()
    assert body["status_code"] == status_code
    return [entry["message"] for entry in body["errors"]]


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    """Poll until condition() holds (for the enqueue batcher's background flush)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def drain_queue(celery_app: Celery, queue: str) -> list[tuple[str, list[str]]]:
    """Every (task name, ids) message waiting on a queue of the in-memory broker, removed from it."""
    taken = []
    with celery_app.connection_for_read() as connection:
        simple = connection.SimpleQueue(queue)
        try:
            while True:
                try:
                    message = simple.get(block=False)
                except simple.Empty:
                    break
                args = message.payload[0] if isinstance(message.payload, list | tuple) else message.payload
                taken.append((message.headers.get("task"), list(args[0])))
                message.ack()
        finally:
            simple.close()
    return taken


@pytest.fixture
def empty_queues(celery_app: Celery) -> None:
    # the in-memory broker is global to the process: start each test with empty delivery queues
    for queue in ("send-sms-tasks", "send-email-tasks"):
        drain_queue(celery_app, queue)


@pytest.fixture
def settings_for(tmp_path: Any) -> Callable[..., Settings]:
    """Settings for a given database with some fields changed."""
    def make(database_url: str, **changes: Any) -> Settings:
        from tests.conftest import TEST_SECRET
        return Settings(environment="test", database_url=database_url, broker_url="memory://",
                        secret_key=TEST_SECRET, redis_url=None, **changes)
    return make


@pytest.fixture
def seeded_sqlite(sqlite_url: str, box: Any, clock: ManualClock) -> Any:
    """The seeded service on the SQLite-only database (for tests too heavy to run on both)."""
    from tests.conftest import Seeded
    from clarion.db.engine import make_engine, make_sessions
    from clarion.manage import keys, services, templates
    engine = make_engine(sqlite_url)
    now = clock.now()
    with make_sessions(engine).begin() as session:
        service = services.create_service(session, name="Test service", now=now)
        api_keys = {kind: keys.create_api_key(session, service, key_type=kind, name=f"{kind} key", box=box,
                                              now=now).api_key for kind in ("normal", "team", "test")}
        made = {"sms": templates.create_template(session, service, template_type="sms", name="sms",
                                                 content="Hello ((name)), your code is ((code))", now=now)}
    engine.dispose()
    return Seeded(service=service, api_keys=api_keys, templates=made)
