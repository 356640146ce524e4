"""Fixtures every suite shares: a migrated database (SQLite, and PostgreSQL where reachable), a manual
clock, settings for tests, and a service with one key of each type and one template of each kind.

PostgreSQL, Redis and RabbitMQ suites skip with a printed reason when the server is not reachable,
except under CI=true, where an unreachable server fails the run instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import Clock, ManualClock
from clarion.config import Settings
from clarion.crypto import SecretBox
from clarion.db.engine import make_engine, make_sessions
from clarion.db.migrate import upgrade
from clarion.db.models import Service, Template
from clarion.manage import keys, services, templates

POSTGRES_URL = os.environ.get("CLARION_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CLARION_TEST_REDIS", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("CLARION_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672//")
TEST_SECRET = "clarion-test-secret"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def reachable(host: str, port: int) -> bool:
    """Whether something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    """Skip (or, under CI=true, fail) when a server the test needs is not running."""
    if reachable(host, port):
        return
    message = f"{name} not reachable at {host}:{port}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {message}")
    pytest.skip(f"{message}; start it to run this test")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated once per test run, copied for each test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template(worker_id: str) -> str:
    """A PostgreSQL database migrated once per test worker; each test gets a copy of it."""
    require_server("PostgreSQL", "127.0.0.1", 5432)
    name = f"clarion_template_{worker_id}_{uuid.uuid4().hex[:8]}"
    admin = _postgres_admin()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade(_postgres_url(name))
    yield name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _postgres_admin() -> Engine:
    return create_engine(make_engine(POSTGRES_URL).url, isolation_level="AUTOCOMMIT")


def _postgres_url(database: str) -> str:
    base = POSTGRES_URL.rsplit("/", 1)[0]
    return f"{base}/{database}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "clarion.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    with _postgres_copy(request.getfixturevalue("postgres_template")) as url:
        yield url


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A freshly migrated PostgreSQL database, for tests of the production set-up only."""
    with _postgres_copy(request.getfixturevalue("postgres_template")) as url:
        yield url


@contextmanager
def _postgres_copy(template: str) -> Iterator[str]:
    name = f"clarion_test_{uuid.uuid4().hex[:12]}"
    admin = _postgres_admin()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield _postgres_url(name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated SQLite database, for tests that need only one kind."""
    path = tmp_path / "clarion.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessions(engine)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for a test: its own database and letters folder, an in-memory broker, no Redis."""
    return Settings(environment="test", database_url=database_url, broker_url="memory://",
                    secret_key=TEST_SECRET, redis_url=None, letters_folder=tmp_path / "letters")


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(TEST_SECRET)


@dataclass
class Seeded:
    """A service with one API key of each type and one template of each kind."""

    service: Service
    api_keys: dict[str, str]  # key type -> full key string
    templates: dict[str, Template]


@pytest.fixture
def seeded(sessions: sessionmaker[Session], box: SecretBox, clock: ManualClock) -> Seeded:
    return make_seeded(sessions, box, clock)


def make_seeded(sessions: sessionmaker[Session], box: SecretBox, clock: Clock) -> Seeded:
    """Create the seeded service in the database behind `sessions`."""
    now = clock.now()
    with sessions.begin() as session:
        service = services.create_service(session, name="Test service", now=now)
        api_keys = {kind: keys.create_api_key(session, service, key_type=kind, name=f"{kind} key", box=box,
                                              now=now).api_key
                    for kind in ("normal", "team", "test")}
        made = {
            "sms": templates.create_template(session, service, template_type="sms", name="sms",
                                             content="Hello ((name)), your code is ((code))", now=now),
            "email": templates.create_template(session, service, template_type="email", name="email",
                                               subject="Hello ((name))", content="Dear ((name)),\n\nThanks.",
                                               now=now),
            "letter": templates.create_template(session, service, template_type="letter", name="letter",
                                                subject="Your letter", content="Dear ((name))", now=now),
        }
    return Seeded(service=service, api_keys=api_keys, templates=made)
