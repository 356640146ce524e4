"""The worker's one shared object: settings, sessions, provider clients, clock, retry policy and routing.

Built lazily on first use in each worker process (and again after a fork), from the Settings given
to `make_celery`; tests install their own with `install_context` (a ManualClock, a test database,
fake provider clients).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import Clock, SystemClock
from clarion.config import Settings
from clarion.db.engine import make_engine, make_sessions
from clarion.delivery.letters import LetterOptions
from clarion.delivery.send import DeliveryOptions
from clarion.letters import LetterStores, Scanner, fonts_from_settings, scanner_from_settings, stores_from_settings
from clarion.providers.letter import LetterClient
from clarion.providers.registry import NotificationProviderClients
from clarion.routing import Balancer, ProviderCache, Router, RoutingRules
from clarion.worker.clients import build_clients
from clarion.worker.provider_loop import ProviderLoop
from clarion.worker.retry import RetryPolicy

__all__ = ["LetterParts", "WorkerContext", "bind_settings", "close_context", "install_context", "worker_context"]


_ATTRIBUTE = "clarion_context_holder"
T = TypeVar("T")


@dataclass(frozen=True)
class LetterParts:
    """What the letter tasks use: the two PDF stores, the virus scanner and the print provider's client."""

    stores: LetterStores
    scanner: Scanner
    printer: LetterClient | None  # None when DVLA is not configured: letters wait, ready, until it is
    options: LetterOptions = field(default_factory=LetterOptions)


@dataclass(frozen=True)
class WorkerContext:
    """Everything a task needs, built once per worker process."""

    settings: Settings
    sessions: sessionmaker[Session]
    clients: NotificationProviderClients
    clock: Clock
    retry_policy: RetryPolicy
    delivery: DeliveryOptions = field(default_factory=DeliveryOptions)
    loop: ProviderLoop = field(default_factory=ProviderLoop)  # where every provider call of the process runs
    letters: LetterParts | None = None  # None: this context does not handle letters (some tests)

    # Derived, so a copy made with other clients (`dataclasses.replace`) routes to those clients.
    @functools.cached_property
    def router(self) -> Router:
        """Routes by the database's weights through this process's short-lived cache, and only to
        providers this context has a client for."""
        cache = ProviderCache(self.sessions, self.clock, ttl_s=self.settings.routing_cache_ttl_s)
        return Router(cache, configured=self.clients.configured())

    @functools.cached_property
    def balancer(self) -> Balancer:
        """The routing policy, fed by this context's deliveries and beat tasks."""
        return Balancer(self.sessions, self.clock, RoutingRules.from_settings(self.settings),
                        cache=self.router.cache)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        """Start a provider call on the process's event loop."""
        return self.loop.run(coroutine)

    def close(self) -> None:
        """Close the provider clients and their sessions, then the event loop (at worker shutdown)."""
        try:
            self.loop.call(self.clients.close())
        finally:
            self.loop.close()

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock | None = None,
                      clients: NotificationProviderClients | None = None,
                      letters: LetterParts | None = None) -> WorkerContext:
        """A context for these settings: its own engine, event loop and provider clients (built on that loop)."""
        clock = clock or SystemClock()
        loop = ProviderLoop()
        if clients is None:
            clients = loop.call(build_clients(settings, clock=clock))
        if letters is None:
            letters = _letter_parts(settings, clients=clients)
        return cls(
            settings=settings,
            sessions=make_sessions(make_engine(settings.database_url)),
            clients=clients,
            clock=clock,
            loop=loop,
            retry_policy=RetryPolicy(max_retries=settings.delivery_max_retries,
                                     delay_s=settings.delivery_retry_delay_s),
            delivery=DeliveryOptions(email_domain=settings.notify_email_domain, sms_sender=settings.from_number,
                                     claim_lasts=timedelta(seconds=settings.delivery_claim_s)),
            letters=letters,
        )


def _letter_parts(settings: Settings, *, clients: NotificationProviderClients) -> LetterParts:
    """The letter stores and scanner LETTERS_STORAGE and CLAMD_* name, and the DVLA client, if configured."""
    printer = clients.get("dvla", "letter")
    options = LetterOptions(max_pages=settings.letter_max_pages, fonts=fonts_from_settings(settings),
                            claim_lasts=timedelta(seconds=settings.delivery_claim_s))
    return LetterParts(stores=stores_from_settings(settings), scanner=scanner_from_settings(settings),
                       printer=printer if isinstance(printer, LetterClient) else None, options=options)


@dataclass
class _Holder:
    settings: Settings
    context: WorkerContext | None = None
    pid: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def bind_settings(app: Celery, settings: Settings) -> None:
    """Remember the settings the app's worker context is built from."""
    setattr(app, _ATTRIBUTE, _Holder(settings=settings))


def install_context(app: Celery, context: WorkerContext) -> None:
    """Use this context for the app's tasks in this process (tests, the simulator)."""
    holder = _holder(app)
    holder.context, holder.pid = context, os.getpid()


def worker_context(app: Celery) -> WorkerContext:
    """The app's context in this process, built from its settings on first use."""
    holder = _holder(app)
    with holder.lock:
        if holder.context is None or holder.pid != os.getpid():
            holder.context, holder.pid = WorkerContext.from_settings(holder.settings), os.getpid()
        return holder.context


def close_context(app: Celery) -> None:
    """Close the context this process built, if it built one (when `clarion worker` stops)."""
    holder = _holder(app)
    with holder.lock:
        if holder.context is not None and holder.pid == os.getpid():
            holder.context.close()
            holder.context = None


def _holder(app: Celery) -> _Holder:
    holder = getattr(app, _ATTRIBUTE, None)
    if holder is None:
        raise RuntimeError("this Celery app was not made by clarion.worker.app.make_celery")
    return holder
