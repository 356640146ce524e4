"""The app factory: `create_app(settings)` builds nothing until the lifespan starts.

The lifespan opens, and on shutdown closes, everything one API process shares:
- `app.state.api` (`ApiContext`): the async engine for the hot path, the service and template
  caches (CACHE_TTL_S, default 2 s), the rate and daily limits, the insert batcher (group commit),
  the enqueue batcher, metrics, and the provider receipts' intake (credential checks, SNS
  certificate cache, receipts batcher);
- `app.state.sessions`: a sync `sessionmaker` for the operator API (`clarion.api.admin`), on
  `app.state.sync_engine`;
- `app.state.settings`, `app.state.clock`, `app.state.celery`, `app.state.metrics`.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from clarion.api import admin, letter_callback, receipts, store
from clarion.api.context import ApiContext
from clarion.api.enqueue import EnqueueBatcher, celery_sender
from clarion.api.errors import CatchAllMiddleware, error_response, install_error_handlers
from clarion.api.metrics import ApiMetrics, LatencyMiddleware
from clarion.api.responses import JsonResponse
from clarion.api.writer import InsertBatcher
from clarion.api.v2 import notifications, received_texts, templates
from clarion.clock import Clock, SystemClock
from clarion.config import Settings
from clarion.crypto import SecretBox
from clarion.db.models import Notification
from clarion.db.engine import make_async_engine, make_engine, make_sessions
from clarion.limits import make_limits

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app_from_environment() -> FastAPI:
    """The app for the settings in the environment; `clarion api` starts one per worker process."""
    from clarion.logs import configure_logging

    configure_logging("api")
    return create_app(Settings())


def create_app(settings: Settings, *, clock: Clock | None = None, celery_app: Any = None) -> FastAPI:
    """The API app for these settings; `clock` and `celery_app` are for tests (a ManualClock, memory://)."""
    clock = clock or SystemClock()
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with _running(app, settings, clock, metrics, celery_app):
            yield

    app = FastAPI(title="clarion", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  default_response_class=JsonResponse)
    app.state.settings, app.state.clock, app.state.metrics = settings, clock, metrics
    install_error_handlers(app)
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(LatencyMiddleware, metrics=metrics)
    for router in (notifications.router, templates.router, received_texts.router, admin.router,
                   letter_callback.router, receipts.router):
        app.include_router(router)
    app.add_api_route("/_status", _status, methods=["GET"], include_in_schema=False)
    app.add_api_route("/metrics", _metrics, methods=["GET"], include_in_schema=False)
    return app


@asynccontextmanager
async def _running(app: FastAPI, settings: Settings, clock: Clock, metrics: ApiMetrics,
                   celery_app: Any) -> AsyncIterator[None]:
    engine = make_async_engine(settings.database_url)
    sync_engine = make_engine(settings.database_url)
    if celery_app is None:
        from clarion.worker.app import make_celery
        celery_app = make_celery(settings)
    limits = make_limits(redis_url=settings.redis_url, engine=engine)
    writer = InsertBatcher(engine, Notification.__table__)
    batcher = EnqueueBatcher(celery_sender(celery_app))
    receipt_intake = receipts.ReceiptIntake.from_settings(
        settings, clock=clock, batcher=EnqueueBatcher(receipts.receipts_sender(celery_app)))
    app.state.api = ApiContext(settings=settings, clock=clock, engine=engine,
                               box=SecretBox(settings.secret_key.get_secret_value()), limits=limits,
                               writer=writer, batcher=batcher, metrics=metrics, receipts=receipt_intake)
    app.state.sync_engine, app.state.sessions, app.state.celery = sync_engine, make_sessions(sync_engine), celery_app
    # Everything built so far lives as long as the process: keep it out of the collector's full
    # passes, which otherwise walk it every few seconds under load and show up as latency spikes.
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        await writer.close()
        await batcher.close()
        await receipt_intake.close()
        await limits.close()
        await engine.dispose()
        sync_engine.dispose()


async def _status(request: Request) -> Response:
    """{"status": "ok"} when the database answers."""
    try:
        await store.ping(request.app.state.api.engine)
    except Exception:
        log.exception("status check: database unreachable")
        return error_response(503, "ServiceUnavailable", ["the database is not reachable"])
    return JsonResponse({"status": "ok"})


async def _metrics(request: Request) -> Response:
    """Prometheus exposition of the API's metrics."""
    return Response(request.app.state.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")
