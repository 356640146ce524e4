"""The DVLA client against a capturing loopback server: the exact requests it makes, how it keeps its
token, and which failure category each of DVLA's answers becomes."""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeVar

import aiohttp
import pytest

from clarion.clock import ManualClock
from clarion.config import Settings
from clarion.providers.errors import (
    PermanentProviderError,
    ProviderThrottled,
    ProviderTimeout,
    ProviderUnavailable,
    RetryableProviderError,
)
from clarion.providers.letter import (
    DvlaClient,
    DvlaDuplicatePrintRequest,
    DvlaUnauthorised,
    LetterCallbackTokens,
    PrintJob,
    dvla_client_from_settings,
)
from clarion.providers.letter.dvla import AUTHENTICATE_PATH, PRINT_JOBS_PATH
from tests.conftest import START
from tests.unit.letters_dvla.capture import CaptureServer, Reply, dvla_id_token
from tests.unit.letters_dvla.samples import (
    API_HOST,
    API_KEY,
    JOB,
    NOTIFICATION_ID,
    ORGANISATION_ID,
    PASSWORD,
    PDF,
    SECRET,
    SERVICE_ID,
    TOKENS,
    USERNAME,
)

T = TypeVar("T")


@asynccontextmanager
async def dvla(clock: ManualClock, *, timeout_s: float = 10.0) -> AsyncIterator[tuple[CaptureServer, DvlaClient]]:
    """A capture server and a client pointed at it, sharing one aiohttp session as a worker would."""
    server = CaptureServer()
    base_url = await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            yield server, DvlaClient(clock=clock, base_url=base_url, username=USERNAME, password=PASSWORD,
                                     api_key=API_KEY, callback_host=API_HOST, callback_tokens=TOKENS,
                                     session=session, timeout_s=timeout_s)
    finally:
        await server.close()


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(scenario())  # type: ignore[arg-type]


def send(job: PrintJob = JOB, *, clock: ManualClock | None = None) -> tuple[CaptureServer, Any]:
    """Send one letter; returns the server and the print-job request it received."""
    async def scenario() -> tuple[CaptureServer, Any]:
        async with dvla(clock or ManualClock(START)) as (server, client):
            await client.send_letter(job, PDF)
            return server, server.to(PRINT_JOBS_PATH)[0]
    return run(scenario)


def failure_of(*replies: Reply, path: str = PRINT_JOBS_PATH) -> tuple[Exception, CaptureServer]:
    """The exception a send raises when the server answers `path` with these replies."""
    async def scenario() -> tuple[Exception, CaptureServer]:
        async with dvla(ManualClock(START)) as (server, client):
            server.answer(path, *replies)
            with pytest.raises(Exception) as raised:
                await client.send_letter(JOB, PDF)
            return raised.value, server
    return run(scenario)


# --- the requests on the wire ---------------------------------------------------------------------

def test_a_first_class_letter_is_sent_as_exactly_the_documented_print_job() -> None:
    server, job_request = send()
    assert job_request.method == "POST"
    assert job_request.json() == {
        "id": NOTIFICATION_ID,
        "standardParams": {
            "jobType": "NOTIFY",
            "templateReference": "NOTIFY",
            "businessIdentifier": "ABCDEFGH12345678",
            "recipientName": "Ms A Person",
            "address": {"unstructuredAddress": {"line1": "Flat 2", "line2": "10 High Street",
                                                "line3": "Townsville", "postcode": "SW1A 1AA"}},
            "despatchMethod": "FIRST",
        },
        "customParams": [
            {"key": "pdfContent", "value": base64.b64encode(PDF).decode()},
            {"key": "organisationIdentifier", "value": ORGANISATION_ID},
            {"key": "serviceIdentifier", "value": SERVICE_ID},
        ],
        "callbackParams": {
            "target": f"{API_HOST}/notifications/letter/status?token={TOKENS.encode(NOTIFICATION_ID)}",
            "retryParams": {"enabled": True, "maxRetryWindow": 10800},
        },
    }


def test_every_call_carries_the_raw_jwt_the_api_key_and_json_headers() -> None:
    server, job_request = send()
    token = server.to(AUTHENTICATE_PATH)[0]
    assert token.json() == {"userName": USERNAME, "password": PASSWORD}
    assert token.headers["Content-Type"] == "application/json"
    id_token = dvla_id_token(START + timedelta(hours=1))
    assert job_request.headers["Authorization"] == id_token  # the bare JWT: DVLA wants no "Bearer"
    assert job_request.headers["X-API-Key"] == API_KEY
    assert job_request.headers["Accept"] == "application/json"
    assert job_request.headers["Content-Type"] == "application/json"
    assert [r.path for r in server.requests] == [AUTHENTICATE_PATH, PRINT_JOBS_PATH]


def test_the_callback_token_names_the_letter_and_only_our_secret_reads_it() -> None:
    _, job_request = send()
    target = job_request.json()["callbackParams"]["target"]
    base, _, token = target.partition("?token=")
    assert base == f"{API_HOST}/notifications/letter/status"
    assert TOKENS.decode(token) == uuid.UUID(NOTIFICATION_ID)
    with pytest.raises(ValueError):
        LetterCallbackTokens("another-secret").decode(token)


@pytest.mark.parametrize(("postage", "lines", "address", "despatch"), [
    ("second", ("A Person", "1 Road", "Town", "LS1 1AA"),
     {"unstructuredAddress": {"line1": "1 Road", "line2": "Town", "postcode": "LS1 1AA"}}, None),
    ("economy", ("A Person", "1 Road", "Town", "LS1 1AA"),
     {"unstructuredAddress": {"line1": "1 Road", "line2": "Town", "postcode": "LS1 1AA"}}, "ECONOMY"),
    ("europe", ("Mme A Personne", "1 Rue de la Paix", "75002 Paris", "France"),
     {"internationalAddress": {"line1": "1 Rue de la Paix", "line2": "75002 Paris", "country": "France"}},
     "INTERNATIONAL_EU"),
    ("rest-of-world", ("Mr A Person", "1 Main Street", "Toronto ON", "M5V 2T6", "Canada"),
     {"internationalAddress": {"line1": "1 Main Street", "line2": "Toronto ON", "line3": "M5V 2T6",
                               "country": "Canada"}}, "INTERNATIONAL_ROW"),
    ("second", ("Pte A Person 123", "1 Unit", "BF1 3AA", "BFPO 1234"),
     {"bfpoAddress": {"line1": "Pte A Person 123", "line2": "1 Unit", "postcode": "BF1 3AA", "bfpoNumber": 1234}},
     None),
    ("first", ("Pte A Person 123", "HMS Example", "BFPO 801"),
     {"bfpoAddress": {"line1": "Pte A Person 123", "line2": "HMS Example", "bfpoNumber": 801}}, "FIRST"),
])
def test_each_address_shape_and_postage_on_the_wire(postage: str, lines: tuple[str, ...],
                                                    address: dict[str, Any], despatch: str | None) -> None:
    _, job_request = send(replace(JOB, postage=postage, address_lines=lines))
    standard = job_request.json()["standardParams"]
    assert standard["recipientName"] == lines[0]
    assert standard["address"] == address
    assert standard.get("despatchMethod") == despatch
    assert ("despatchMethod" in standard) == (despatch is not None)  # second class: no key at all


def test_long_values_are_cut_to_dvlas_limits_on_the_wire() -> None:
    lines = ("R" * 300, "L" * 60, "Town", "C" * 300)
    _, job_request = send(replace(JOB, postage="rest-of-world", address_lines=lines))
    standard = job_request.json()["standardParams"]
    assert standard["recipientName"] == "R" * 255
    assert standard["address"] == {"internationalAddress": {"line1": "L" * 45, "line2": "Town", "country": "C" * 256}}


def test_a_service_without_an_organisation_sends_a_null_organisation_identifier() -> None:
    _, job_request = send(replace(JOB, organisation_id=None))
    assert {"key": "organisationIdentifier", "value": None} in job_request.json()["customParams"]


def test_a_letter_that_cannot_be_described_fails_for_good_before_any_request() -> None:
    async def scenario() -> tuple[Exception, CaptureServer]:
        async with dvla(ManualClock(START)) as (server, client):
            with pytest.raises(PermanentProviderError) as raised:
                await client.send_letter(replace(JOB, postage="carrier-pigeon"), PDF)
            return raised.value, server
    error, server = run(scenario)
    assert "carrier-pigeon" in str(error)
    assert server.requests == []


# --- the token ------------------------------------------------------------------------------------

def test_the_token_is_reused_until_a_minute_before_it_expires_then_refreshed() -> None:
    clock = ManualClock(START)  # the default token expires at START + 1 h

    async def scenario() -> CaptureServer:
        async with dvla(clock) as (server, client):
            await client.send_letter(JOB, PDF)
            clock.advance(seconds=3600 - 61)  # 61 s left: still good
            server.answer(AUTHENTICATE_PATH, Reply(200, {"id-token": dvla_id_token(START + timedelta(hours=2))}))
            await client.send_letter(JOB, PDF)
            assert len(server.to(AUTHENTICATE_PATH)) == 1
            clock.advance(seconds=1)  # 60 s left: refresh
            await client.send_letter(JOB, PDF)
            return server
    server = run(scenario)
    tokens = [r.headers["Authorization"] for r in server.to(PRINT_JOBS_PATH)]
    assert len(server.to(AUTHENTICATE_PATH)) == 2
    assert tokens[0] == tokens[1] != tokens[2] == dvla_id_token(START + timedelta(hours=2))


def test_callers_who_find_the_token_stale_together_share_one_authentication() -> None:
    async def scenario() -> CaptureServer:
        async with dvla(ManualClock(START)) as (server, client):
            release = asyncio.Event()
            server.answer(AUTHENTICATE_PATH, Reply(200, {"id-token": dvla_id_token(START + timedelta(hours=1))},
                                                   hold=release))
            sends = [asyncio.create_task(client.send_letter(replace(JOB, notification_id=str(uuid.uuid4())), PDF))
                     for _ in range(5)]
            while not server.to(AUTHENTICATE_PATH):
                await asyncio.sleep(0)
            release.set()
            await asyncio.gather(*sends)
            return server
    server = run(scenario)
    assert len(server.to(AUTHENTICATE_PATH)) == 1
    assert len(server.to(PRINT_JOBS_PATH)) == 5


def test_a_refused_authentication_is_retryable_and_sends_no_print_job() -> None:
    error, server = failure_of(
        Reply(401, [{"status": 401, "title": "Authentication Failure", "detail": "Invalid username or password"}]),
        path=AUTHENTICATE_PATH)
    assert isinstance(error, DvlaUnauthorised) and isinstance(error, RetryableProviderError)
    assert "Invalid username or password" in str(error)
    assert server.to(PRINT_JOBS_PATH) == []


@pytest.mark.parametrize("reply", [Reply(200, {"token": "x"}), Reply(200, {"id-token": "not-a-jwt"}),
                                   Reply(200, b"<html>"), Reply(503, b"")])
def test_an_unusable_authenticate_answer_is_a_provider_fault(reply: Reply) -> None:
    error, server = failure_of(reply, path=AUTHENTICATE_PATH)
    assert type(error) is ProviderUnavailable
    assert server.to(PRINT_JOBS_PATH) == []


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_print_job_drops_the_token_so_the_retry_authenticates_again(status: int) -> None:
    async def scenario() -> tuple[Exception, CaptureServer]:
        async with dvla(ManualClock(START)) as (server, client):
            server.answer(PRINT_JOBS_PATH, Reply(status, {"errors": [{"detail": "Token expired"}]}))
            with pytest.raises(DvlaUnauthorised) as raised:
                await client.send_letter(JOB, PDF)
            await client.send_letter(JOB, PDF)  # the retry
            return raised.value, server
    error, server = run(scenario)
    assert isinstance(error, RetryableProviderError)
    assert [r.path for r in server.requests] == [AUTHENTICATE_PATH, PRINT_JOBS_PATH,
                                                 AUTHENTICATE_PATH, PRINT_JOBS_PATH]


# --- DVLA's other answers ---------------------------------------------------------------------------

def test_409_means_dvla_already_has_the_job() -> None:
    error, _ = failure_of(Reply(409, {"errors": [{"detail": "Duplicate print job id"}]}))
    assert isinstance(error, DvlaDuplicatePrintRequest)
    assert isinstance(error, PermanentProviderError)  # never retried; the caller counts it as sent
    assert NOTIFICATION_ID in str(error)


def test_429_is_throttling_not_a_fault() -> None:
    error, _ = failure_of(Reply(429, {"errors": [{"detail": "Too many requests"}]}))
    assert type(error) is ProviderThrottled


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_is_retryable(status: int) -> None:
    error, _ = failure_of(Reply(status, b"upstream trouble"))
    assert type(error) is ProviderUnavailable
    assert f"HTTP {status}" in str(error)


def test_400_fails_for_good_with_dvlas_own_detail() -> None:
    detail = "standardParams.address.unstructuredAddress.postcode: must not be blank"
    error, _ = failure_of(Reply(400, {"errors": [{"status": "400", "code": "V001", "title": "Validation",
                                                  "detail": detail}]}))
    assert type(error) is PermanentProviderError
    assert error.detail == detail


def test_400_without_a_detail_still_fails_for_good() -> None:
    error, _ = failure_of(Reply(400, b"Bad Request"))
    assert type(error) is PermanentProviderError
    assert "HTTP 400" in str(error)


@pytest.mark.parametrize("status", [404, 413, 422])
def test_any_other_client_error_fails_for_good(status: int) -> None:
    error, _ = failure_of(Reply(status, {"errors": [{"detail": "nope"}]}))
    assert type(error) is PermanentProviderError


def test_no_answer_in_time_is_a_timeout() -> None:
    async def scenario() -> Exception:
        async with dvla(ManualClock(START), timeout_s=0.2) as (server, client):
            never = asyncio.Event()
            server.answer(PRINT_JOBS_PATH, Reply(202, b"{}", hold=never))
            with pytest.raises(ProviderTimeout) as raised:
                await client.send_letter(JOB, PDF)
            never.set()
            return raised.value
    error = run(scenario)
    assert isinstance(error, RetryableProviderError)


def test_a_refused_connection_is_a_provider_fault() -> None:
    with socket.socket() as sock:  # a port nothing listens on once this socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def scenario() -> Exception:
        async with aiohttp.ClientSession() as session:
            client = DvlaClient(clock=ManualClock(START), base_url=f"http://127.0.0.1:{port}", username=USERNAME,
                                password=PASSWORD, api_key=API_KEY, callback_host=API_HOST,
                                callback_tokens=TOKENS, session=session, timeout_s=5)
            with pytest.raises(ProviderUnavailable) as raised:
                await client.send_letter(JOB, PDF)
            return raised.value
    assert "could not connect" in str(run(scenario))


# --- wiring ---------------------------------------------------------------------------------------

def test_the_client_from_settings_sends_with_the_configured_credentials_and_host() -> None:
    async def scenario() -> CaptureServer:
        server = CaptureServer()
        base_url = await server.start()
        settings = Settings(environment="test", secret_key=SECRET, dvla_api_base_url=base_url,
                            dvla_username="u-from-settings", dvla_password="p-from-settings",
                            dvla_api_key="k-from-settings", api_host_name="http://127.0.0.1:6011")
        try:
            async with aiohttp.ClientSession() as session:
                client = dvla_client_from_settings(settings, session=session, clock=ManualClock(START))
                await client.send_letter(JOB, PDF)
        finally:
            await server.close()
        return server
    server = run(scenario)
    assert server.to(AUTHENTICATE_PATH)[0].json() == {"userName": "u-from-settings", "password": "p-from-settings"}
    job_request = server.to(PRINT_JOBS_PATH)[0]
    assert job_request.headers["X-API-Key"] == "k-from-settings"
    target = job_request.json()["callbackParams"]["target"]
    assert target.startswith("http://127.0.0.1:6011/notifications/letter/status?token=")
    assert LetterCallbackTokens(SECRET).decode(target.partition("?token=")[2]) == uuid.UUID(NOTIFICATION_ID)


@pytest.mark.parametrize(("change", "message"), [
    ({"dvla_api_key": ""}, "DVLA_API_KEY"),
    ({"dvla_api_base_url": "uat.dvla.example"}, "DVLA_API_BASE_URL"),
    ({"dvla_api_tls_ciphers": "NOT-A-CIPHER"}, "DVLA_API_TLS_CIPHERS"),
])
def test_unusable_settings_are_refused_with_the_setting_named(change: dict[str, str], message: str) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            dvla_client_from_settings(Settings(environment="test", **change), session=session,
                                      clock=ManualClock(START))
    with pytest.raises(ValueError, match=message):
        run(scenario)


def test_each_send_is_timed_and_logged_with_the_notification_id(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="clarion.providers.base"):
        send()
    [line] = [r for r in caplog.records if r.message == "provider request finished"]
    assert (line.provider_name, line.notification_id, line.outcome) == ("dvla", NOTIFICATION_ID, "success")
