"""Fixtures for the letter path: the real API app (tests/unit/api's fixtures), the letter stores in the
test's folder, a real clamd with only the EICAR signature (tests/unit/letters), and letters posted
through the API the way a service posts them."""

from __future__ import annotations

import base64
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.config import Settings
from clarion.delivery import letters
from clarion.letters import LetterStores, NoScanner, Scanner, stores_from_settings
from clarion.providers.letter import DvlaClient, LetterCallbackTokens
from clarion.providers.letter.dvla import PRINT_JOBS_PATH
from clarion.worker.provider_loop import ProviderLoop
from clarion.worker.queues import CREATE_LETTERS_PDF_QUEUE, SEND_LETTER_QUEUE
from tests.unit.api.conftest import (  # noqa: F401  (fixtures)
    ApiClient,
    api,
    app,
    celery_app,
    change_service,
    drain_queue,
    empty_queues,
    test_client,
)
from tests.unit.delivery.factory import add_notification  # noqa: F401  (fixture)
from tests.unit.letters.test_virus_scan import EICAR, clamd  # noqa: F401  (the session's clamd)
from tests.unit.letters_dvla.capture import CaptureServer

API_HOST = "https://api.clarion.example"
TOKENS = LetterCallbackTokens("letters-test-secret")
ADDRESS = {"address_line_1": "Ann Example", "address_line_2": "1 High Street", "address_line_3": "sw1a 1aa"}


@pytest.fixture
def stores(settings: Settings) -> LetterStores:
    """The scan and PDF stores the API writes to: folders under the test's tmp_path."""
    return stores_from_settings(settings)


@pytest.fixture
def empty_letter_queues(celery_app: Celery) -> None:
    # the in-memory broker is global to the process: start each test with empty letter queues
    for queue in (CREATE_LETTERS_PDF_QUEUE, SEND_LETTER_QUEUE):
        drain_queue(celery_app, queue)


PostLetter = Callable[..., Any]


@pytest.fixture
def post_template_letter(api: ApiClient, seeded: Any, empty_letter_queues: None) -> PostLetter:
    """POST a template letter (seeded template, "Dear ((name))"); returns the reply."""
    def post(*, key: str = "normal", name: str = "Ann", **address: str) -> Any:
        personalisation = {"name": name, **(address or ADDRESS)}
        body = {"template_id": str(seeded.templates["letter"].id), "personalisation": personalisation}
        return api.post("/v2/notifications/letter", body, key=key)
    return post


@pytest.fixture
def post_precompiled(api: ApiClient, empty_letter_queues: None) -> PostLetter:
    """POST a precompiled letter with these PDF bytes; returns the reply."""
    def post(pdf: bytes, *, key: str = "normal", reference: str = "my-letter", **extra: Any) -> Any:
        body = {"reference": reference, "content": base64.b64encode(pdf).decode("ascii"), **extra}
        return api.post("/v2/notifications/letter", body, key=key)
    return post


Prepare = Callable[..., list[letters.PrepareResult]]


@pytest.fixture
def prepare(sessions: sessionmaker[Session], stores: LetterStores, clock: ManualClock) -> Prepare:
    """Run the prepare flow on some ids (no virus scanner unless one is given)."""
    def run(*ids: uuid.UUID | str, scanner: Scanner | None = None, max_pages: int = 10) -> list[letters.PrepareResult]:
        return letters.prepare_letters([uuid.UUID(str(i)) for i in ids], sessions=sessions, stores=stores,
                                       scanner=scanner or NoScanner(), clock=clock,
                                       options=letters.LetterOptions(max_pages=max_pages))
    return run


def closed_port() -> int:
    """A loopback port nothing listens on (a scanner or server that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends


@dataclass
class Dvla:
    """A capturing DVLA on loopback, and clarion's DVLA client for it on its own event loop."""

    server: CaptureServer
    client: DvlaClient
    loop: ProviderLoop

    def print_jobs(self) -> list[Any]:
        return [request.json() for request in self.server.to(PRINT_JOBS_PATH)]


@pytest.fixture
def dvla(clock: ManualClock) -> Iterator[Dvla]:
    """A plain capturing server answering as DVLA does, and a real DvlaClient pointed at it."""
    loop = ProviderLoop()
    server = CaptureServer()
    url = loop.call(server.start())

    async def open_session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    http = loop.call(open_session())
    client = DvlaClient(clock=clock, base_url=url, username="clarion", password="secret", api_key="key",
                        callback_host=API_HOST, callback_tokens=TOKENS, session=http, timeout_s=10)
    yield Dvla(server, client, loop)
    loop.call(http.close())
    loop.call(server.close())
    loop.close()


__all__ = ["ADDRESS", "API_HOST", "EICAR", "TOKENS", "Dvla", "PostLetter", "Prepare", "closed_port"]
