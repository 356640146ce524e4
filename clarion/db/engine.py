"""Engines and session factories for one DATABASE_URL: a sync one (worker, CLI) and an async one (API)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

SYNC_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg", "sqlite": "sqlite"}
ASYNC_DRIVERS = {"postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite"}


def _with_driver(url: str, drivers: dict[str, str]) -> str:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in drivers:
        raise ValueError(f"DATABASE_URL must be sqlite:/// or postgresql://, not {backend}://")
    return parsed.set(drivername=drivers[backend]).render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The URL with the synchronous driver clarion uses for this database."""
    return _with_driver(url, SYNC_DRIVERS)


def async_url(url: str) -> str:
    """The URL with the asyncio driver clarion uses for this database."""
    return _with_driver(url, ASYNC_DRIVERS)


def is_sqlite(url: str) -> bool:
    """Whether the URL names an SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def _prepare_sqlite_folder(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while a worker writes; busy_timeout makes writers queue instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# Every engine hides bound parameters from its error messages: they hold phone numbers, addresses
# and personalisation, and database errors end up in logs.


def make_engine(url: str, **kwargs: Any) -> Engine:
    """A synchronous engine; SQLite gets WAL mode and a busy timeout."""
    if is_sqlite(url):
        _prepare_sqlite_folder(url)
        kwargs.setdefault("poolclass", NullPool)  # a single-threaded caller (the simulator) may pool instead
        engine = create_engine(sync_url(url), hide_parameters=True, **kwargs)
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    return create_engine(sync_url(url), pool_pre_ping=True, pool_recycle=300, hide_parameters=True, **kwargs)


def make_async_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An asyncio engine for the API's hot path."""
    if is_sqlite(url):
        _prepare_sqlite_folder(url)
        # One connection: SQLite takes one writer at a time, and several connections of the same
        # process would wait on each other inside sqlite's busy handler (sleeping up to 100 ms a
        # turn) instead of queueing cheaply in the pool. Statements are short, so reads queue too.
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        engine = create_async_engine(async_url(url), hide_parameters=True, **kwargs)
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        return engine
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 10)
    return create_async_engine(async_url(url), pool_recycle=300, hide_parameters=True, **kwargs)


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
