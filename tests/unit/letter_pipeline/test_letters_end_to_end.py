"""The whole letter path, every part real: the official Notify client posts to the API on a loopback
port; a Celery worker prepares the letters (clamd with the EICAR signature scans the precompiled ones)
and hands them to the sandbox DVLA, whose despatch callback reaches the API and makes them `received`.

The waits below poll for work other threads and processes do; they measure no time.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from notifications_python_client import NotificationsAPIClient
from notifications_python_client.errors import HTTPError

from clarion.api.app import create_app
from clarion.clock import ManualClock, SystemClock
from clarion.config import Settings
from clarion.db.engine import make_engine, make_sessions
from clarion.delivery.letters import LetterOptions
from clarion.letters import ClamdScanner, stores_from_settings
from clarion.letters.precompiled import read_address
from clarion.providers.letter import DvlaClient, LetterCallbackTokens
from clarion.providers.registry import NotificationProviderClients
from clarion.sandbox.app import SandboxServer
from clarion.sandbox.state import SandboxConfig
from clarion.worker.app import make_celery
from clarion.worker.context import LetterParts, WorkerContext, install_context
from clarion.worker.provider_loop import ProviderLoop
from clarion.worker.retry import RetryPolicy
from tests.conftest import TEST_SECRET, Seeded, make_seeded
from tests.contract.conftest import free_port, serve
from tests.unit.letter_pipeline.conftest import EICAR
from tests.unit.letters.pdfs import valid_letter
from tests.unit.letters.test_virus_scan import Clamd

DEADLINE_S = 60.0  # only so that a broken pipeline fails instead of hanging; nothing is timed


@dataclass
class Stack:
    client: NotificationsAPIClient
    seeded: Seeded


def wait_until(condition: Callable[[], Any]) -> Any:
    """Poll until condition() is truthy (the worker, sandbox and API run on their own threads)."""
    deadline = time.monotonic() + DEADLINE_S
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError("the letter pipeline did not finish")
        time.sleep(0.05)
    return result


@pytest.fixture
def stack(sqlite_url: str, tmp_path: Path, box: Any, clamd: Clamd) -> Iterator[Stack]:
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    settings = Settings(environment="test", database_url=sqlite_url, broker_url="memory://", secret_key=TEST_SECRET,
                        api_host_name=api_url, redis_url=None, letters_folder=tmp_path / "letters")
    engine = make_engine(sqlite_url)
    sessions = make_sessions(engine)
    seeded = make_seeded(sessions, box, SystemClock())
    celery_app: Celery = make_celery(settings)
    server, thread = serve(create_app(settings, clock=SystemClock(), celery_app=celery_app), port)

    clock = ManualClock(datetime.now(UTC))  # the sandbox's and the worker's; DVLA tokens agree between them
    sandbox_loop, worker_loop = ProviderLoop("sandbox"), ProviderLoop("worker")
    sandbox = SandboxServer(SandboxConfig(host="127.0.0.1", port=0, smtp_port=0, api_host_name=api_url,
                                          receipt_delay_s=0.0), clock=clock)
    sandbox_loop.call(sandbox.start())

    async def open_session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    http = worker_loop.call(open_session())
    printer = DvlaClient(clock=clock, base_url=sandbox.url, username="clarion", password="secret", api_key="key",
                         callback_host=api_url, callback_tokens=LetterCallbackTokens(TEST_SECRET), session=http,
                         timeout_s=10)
    parts = LetterParts(stores=stores_from_settings(settings), printer=printer, options=LetterOptions(),
                        scanner=ClamdScanner(socket_path=clamd.socket_path, timeout_s=30))
    install_context(celery_app, WorkerContext(
        settings=settings, sessions=sessions, clients=NotificationProviderClients([]), clock=clock,
        retry_policy=RetryPolicy(), loop=worker_loop, letters=parts))
    try:
        with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING"):
            yield Stack(NotificationsAPIClient(seeded.api_keys["normal"], base_url=api_url, timeout=10), seeded)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        worker_loop.call(http.close())
        sandbox_loop.call(sandbox.stop())
        worker_loop.close()
        sandbox_loop.close()
        engine.dispose()


def status_of(stack: Stack, notification_id: str) -> str:
    return stack.client.get_notification_by_id(notification_id)["status"]


def test_letters_sent_with_the_notify_client_are_printed_and_received(stack: Stack) -> None:
    address = {"address_line_1": "Ann Example", "address_line_2": "1 High Street", "address_line_3": "sw1a 1aa"}
    template = stack.client.send_letter_notification(str(stack.seeded.templates["letter"].id),
                                                     {"name": "Ann", **address})["id"]
    precompiled_pdf = valid_letter()
    precompiled = stack.client.send_precompiled_letter_notification("my-letter", io.BytesIO(precompiled_pdf))["id"]

    wait_until(lambda: {status_of(stack, template), status_of(stack, precompiled)} == {"received"})

    rendered = stack.client.get_pdf_for_letter(template).read()
    assert read_address(rendered) == ("Ann Example", "1 High Street", "SW1A 1AA")  # in the envelope window
    assert stack.client.get_pdf_for_letter(precompiled).read() == precompiled_pdf
    read = stack.client.get_notification_by_id(precompiled)
    assert (read["reference"], read["postage"], read["cost_details"]["billable_sheets_of_paper"]) == (
        "my-letter", "second", 1)


def test_a_virus_and_a_file_that_is_not_a_pdf_are_refused_after_acceptance(stack: Stack) -> None:
    infected = stack.client.send_precompiled_letter_notification("eicar", io.BytesIO(EICAR))["id"]
    not_pdf = stack.client.send_precompiled_letter_notification("text", io.BytesIO(b"plain text"))["id"]

    wait_until(lambda: status_of(stack, infected) == "virus-scan-failed")
    wait_until(lambda: status_of(stack, not_pdf) == "validation-failed")

    with pytest.raises(HTTPError) as refused:
        stack.client.get_pdf_for_letter(infected)
    assert refused.value.status_code == 400
    assert refused.value.message == [{"error": "BadRequestError", "message": "File did not pass the virus scan"}]
