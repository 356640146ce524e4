"""The sandbox DVLA over loopback, driven by clarion's own DVLA client: authentication, print jobs in
the documented format, duplicates, faults, and the despatch callback reaching a loopback receiver in
the form clarion's callback endpoint reads."""

from __future__ import annotations

import asyncio
import base64
import io
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aiohttp
import pypdf
import pytest
from aiohttp import web

from clarion.clock import ManualClock
from clarion.providers.errors import ProviderThrottled, ProviderUnavailable
from clarion.providers.letter import DvlaClient, DvlaDuplicatePrintRequest, PrintJob
from clarion.providers.letter.status_callback import read_status_callback
from clarion.sandbox import control, dvla
from clarion.sandbox.faults import FaultBoard
from clarion.sandbox.poster import ReceiptScheduler
from clarion.sandbox.sns_signing import SnsSigner
from clarion.sandbox.state import SandboxConfig, SandboxState
from clarion.sandbox.stats import Stats
from tests.conftest import START
from tests.unit.letters_dvla.capture import CaptureServer, Reply
from tests.unit.letters_dvla.samples import JOB, TOKENS

T = TypeVar("T")
CALLBACK_PATH = "/notifications/letter/status"


def pdf_of(pages: int, padding: int = 0) -> bytes:
    """A real A4 PDF with this many blank pages, and `padding` bytes of metadata to make it large."""
    writer = pypdf.PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if padding:
        writer.add_metadata({"/Padding": "x" * padding})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


THREE_PAGES = pdf_of(3)


@dataclass
class World:
    """A running sandbox DVLA, the receiver its callbacks go to, and a client pointed at both."""

    sandbox_url: str
    state: SandboxState
    receiver: CaptureServer
    client: DvlaClient
    http: aiohttp.ClientSession
    clock: ManualClock

    async def callbacks(self, count: int = 1) -> list[Any]:
        return await self.receiver.wait_for(CALLBACK_PATH, count)

    async def faults(self, **changes: Any) -> None:
        async with self.http.post(f"{self.sandbox_url}/_sandbox/faults/dvla", json=changes) as reply:
            assert reply.status == 200, await reply.text()

    async def token(self) -> str:
        async with self.http.post(self.sandbox_url + dvla.AUTHENTICATE_PATH,
                                  json={"userName": "u", "password": "p"}) as reply:
            return (await reply.json())["id-token"]

    async def raw_print_job(self, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        content = body if isinstance(body, bytes) else None
        async with self.http.post(self.sandbox_url + dvla.PRINT_JOBS_PATH, data=content,
                                  json=None if content is not None else body, headers=headers) as reply:
            return reply.status, await reply.json()


def sandbox_state(clock: ManualClock) -> SandboxState:
    """The sandbox's shared state with the DVLA among its providers, callbacks due at once."""
    providers = (dvla.NAME,)
    stats = Stats(providers)
    signer = SnsSigner(certificate_url="http://127.0.0.1/cert.pem", unsubscribe_url="http://127.0.0.1/unsubscribe",
                       topic_arn="arn:aws:sns:eu-west-1:000000000000:sandbox", now=clock.now())
    return SandboxState(config=SandboxConfig(receipt_delay_s=0.0), public_url="", clock=clock, rng=random.Random(5),
                        faults=FaultBoard(providers, default_receipt_delay_s=0.0), stats=stats,
                        receipts=ReceiptScheduler(clock=clock, stats=stats, retry_delays_s=(0.0,)), signer=signer)


@asynccontextmanager
async def world(clock: ManualClock) -> AsyncIterator[World]:
    state = sandbox_state(clock)
    await state.receipts.start()
    app = web.Application()  # aiohttp's default request limit, as the sandbox app has
    app.add_routes(dvla.routes(state))
    app.add_routes(control.routes(state))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sandbox_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    receiver = CaptureServer()
    receiver.always(CALLBACK_PATH, Reply(204, b""))
    receiver_url = await receiver.start()
    try:
        async with aiohttp.ClientSession() as http:
            client = DvlaClient(clock=clock, base_url=sandbox_url, username="clarion", password="secret",
                                api_key="key", callback_host=receiver_url, callback_tokens=TOKENS, session=http,
                                timeout_s=10)
            yield World(sandbox_url, state, receiver, client, http, clock)
    finally:
        await receiver.close()
        await runner.cleanup()
        await state.receipts.close()


def run(scenario: Callable[[World], Awaitable[T]], clock: ManualClock | None = None) -> T:
    async def main() -> T:
        async with world(clock or ManualClock(START)) as w:
            return await scenario(w)
    return asyncio.run(main())


def test_a_letter_is_accepted_and_its_despatch_callback_comes_back_as_clarion_reads_it() -> None:
    async def scenario(w: World) -> tuple[Any, dict[str, int]]:
        await w.client.send_letter(JOB, THREE_PAGES)
        [callback] = await w.callbacks()
        return callback, w.state.stats.of(dvla.NAME)
    callback, stats = run(scenario)
    assert callback.method == "POST" and callback.headers["Content-Type"] == "application/json"
    assert TOKENS.decode(callback.query["token"]) == uuid.UUID(JOB.notification_id)
    update = read_status_callback(callback.json())  # exactly what clarion's endpoint accepts
    assert (update.job_id, update.job_status, update.new_status) == (uuid.UUID(JOB.notification_id), "DESPATCHED",
                                                                     "delivered")
    assert update.total_sheets == 2  # three pages, printed on both sides
    assert (update.postage_class, update.mailing_product) == ("1ST", "UNCODED")
    assert update.transition_date == START
    assert (stats.accepted, stats.rejected, stats.receipts_sent) == (1, 0, 1)


@pytest.mark.parametrize(("postage", "lines", "postage_class", "product"), [
    ("second", ("A", "1 Road", "LS1 1AA"), "2ND", "MM"),
    ("economy", ("A", "1 Road", "LS1 1AA"), "2ND", "MM ECONOMY"),
    ("europe", ("A", "1 Rue", "Paris", "France"), "INTERNATIONAL", "INT EU"),
    ("rest-of-world", ("A", "1 Road", "Lima", "Peru"), "INTERNATIONAL", "INT ROW"),
    ("second", ("Cpl A", "Unit 1", "BF1 4AB", "BFPO 2"), "2ND", "MM"),
])
def test_every_address_shape_and_postage_the_client_sends_is_accepted_and_despatched(
        postage: str, lines: tuple[str, ...], postage_class: str, product: str) -> None:
    async def scenario(w: World) -> Any:
        await w.client.send_letter(replace(JOB, postage=postage, address_lines=lines), pdf_of(1))
        return (await w.callbacks())[0]
    update = read_status_callback(run(scenario).json())
    assert (update.total_sheets, update.postage_class, update.mailing_product) == (1, postage_class, product)


def test_the_callback_waits_for_the_configured_delay() -> None:
    clock = ManualClock(START)

    async def scenario(w: World) -> Any:
        await w.faults(receipt_delay_s=3600)
        await w.client.send_letter(JOB, THREE_PAGES)
        clock.advance(seconds=3599)
        assert w.state.receipts.run_due() == 0
        clock.advance(seconds=1)
        assert w.state.receipts.run_due() == 1
        return (await w.callbacks())[0]
    update = read_status_callback(run(scenario, clock).json())
    assert update.transition_date == START + timedelta(hours=1)


def test_the_same_job_id_twice_is_a_409_and_gets_one_callback() -> None:
    async def scenario(w: World) -> tuple[int, int]:
        await w.client.send_letter(JOB, THREE_PAGES)
        with pytest.raises(DvlaDuplicatePrintRequest):
            await w.client.send_letter(JOB, THREE_PAGES)
        await w.callbacks()
        stats = w.state.stats.of(dvla.NAME)
        return stats.duplicates, stats.receipts_scheduled
    assert run(scenario) == (1, 1)


def test_the_fail_receipts_fault_rejects_the_job() -> None:
    async def scenario(w: World) -> Any:
        await w.faults(fail_receipts=1)
        await w.client.send_letter(JOB, THREE_PAGES)
        return (await w.callbacks())[0]
    update = read_status_callback(run(scenario).json())
    assert (update.job_status, update.new_status, update.total_sheets) == ("REJECTED", "technical-failure", None)


@pytest.mark.parametrize(("fault", "raised"), [
    ({"error_rate": 1}, ProviderUnavailable), ({"throttle_rate": 1}, ProviderThrottled),
    ({"down": True}, ProviderUnavailable),
])
def test_faults_reach_the_client_as_the_right_category(fault: dict[str, Any], raised: type[Exception]) -> None:
    async def scenario(w: World) -> tuple[Exception, int]:
        await w.faults(**fault)
        with pytest.raises(raised) as error:
            await w.client.send_letter(JOB, THREE_PAGES)
        return error.value, w.state.stats.of(dvla.NAME).accepted
    error, accepted = run(scenario)
    assert type(error) is raised
    assert accepted == 0


def test_an_expired_token_is_refused_and_the_client_simply_authenticates_again() -> None:
    clock = ManualClock(START)

    async def scenario(w: World) -> tuple[int, Any, int]:
        await w.client.send_letter(JOB, THREE_PAGES)
        old_token = await w.token()
        clock.advance(hours=1)
        status, body = await w.raw_print_job(valid_body(), {"Authorization": old_token, "X-API-Key": "k"})
        await w.client.send_letter(replace(JOB, notification_id=str(uuid.uuid4())), THREE_PAGES)  # re-authenticates
        return status, body, w.state.stats.of(dvla.NAME).accepted
    status, body, accepted = run(scenario, clock)
    assert (status, body["errors"][0]["detail"]) == (401, "the token has expired; authenticate again")
    assert accepted == 2


@pytest.mark.parametrize(("headers", "status", "detail"), [
    ({}, 401, "send the id-token from authenticate as the Authorization header"),
    ({"Authorization": "Bearer {token}", "X-API-Key": "k"}, 401, 'send the id-token as it is, without "Bearer"'),
    ({"Authorization": "forged.jwt.value", "X-API-Key": "k"}, 401, "the token was not issued by this service"),
    ({"Authorization": "{token}"}, 403, "X-API-Key is required"),
])
def test_a_print_job_without_proper_authorisation_is_refused(headers: dict[str, str], status: int,
                                                             detail: str) -> None:
    async def scenario(w: World) -> tuple[int, Any]:
        token = await w.token()
        return await w.raw_print_job({}, {k: v.format(token=token) for k, v in headers.items()})
    assert run(scenario) == (status, {"errors": [{"status": str(status), "title": "Unauthorized" if status == 401
                                                  else "Forbidden", "detail": detail}]})


@pytest.mark.parametrize("credentials", [{}, {"userName": "u"}, {"userName": "", "password": "p"}])
def test_authenticate_without_credentials_is_a_401_with_dvlas_bare_error_list(credentials: dict[str, str]) -> None:
    async def scenario(w: World) -> tuple[int, Any]:
        async with w.http.post(w.sandbox_url + dvla.AUTHENTICATE_PATH, json=credentials) as reply:
            return reply.status, await reply.json()
    assert run(scenario) == (401, [{"status": "401", "title": "Authentication Failure",
                                    "detail": "userName and password are required"}])


def valid_body() -> dict[str, Any]:
    return {"id": "job-1",
            "standardParams": {"jobType": "NOTIFY", "templateReference": "NOTIFY", "businessIdentifier": "REF",
                               "recipientName": "A Person",
                               "address": {"unstructuredAddress": {"line1": "1 Road", "postcode": "LS1 1AA"}}},
            "customParams": [{"key": "pdfContent", "value": base64.b64encode(pdf_of(1)).decode()},
                             {"key": "organisationIdentifier", "value": None},
                             {"key": "serviceIdentifier", "value": "service"}],
            "callbackParams": {"target": "http://127.0.0.1:9/x", "retryParams": {"enabled": True,
                                                                                  "maxRetryWindow": 10800}}}


def changed(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    body = valid_body()
    change(body)
    return body


@pytest.mark.parametrize(("body", "details"), [
    (b"not json", ["the request body must be JSON"]),
    (changed(lambda b: b.pop("id")), ["id: required, a non-empty string"]),
    (changed(lambda b: b.update(extra=1)), ["extra: unknown field"]),
    (changed(lambda b: b["standardParams"].update(recipientName="r" * 256)),
     ["standardParams.recipientName: at most 255 characters"]),
    (changed(lambda b: b["standardParams"]["address"]["unstructuredAddress"].update(line1="l" * 46)),
     ["standardParams.address.unstructuredAddress.line1: at most 45 characters"]),
    (changed(lambda b: b["standardParams"]["address"]["unstructuredAddress"].update(postcode="SW1A 1AA XX")),
     ["standardParams.address.unstructuredAddress.postcode: at most 10 characters"]),
    (changed(lambda b: b["standardParams"]["address"]["unstructuredAddress"].pop("postcode")),
     ["standardParams.address.unstructuredAddress.postcode: required"]),
    (changed(lambda b: b["standardParams"]["address"].update(bfpoAddress={"line1": "x", "bfpoNumber": 1})),
     ["standardParams.address: must hold exactly one of unstructuredAddress, internationalAddress, bfpoAddress"]),
    (changed(lambda b: b["standardParams"].update(despatchMethod="SECOND")),
     ["standardParams.despatchMethod: must be one of FIRST, ECONOMY, INTERNATIONAL_EU, INTERNATIONAL_ROW "
      "(leave it out for second class)"]),
    (changed(lambda b: b["standardParams"].update(despatchMethod="INTERNATIONAL_EU")),
     ["standardParams: an internationalAddress goes with an INTERNATIONAL_EU or INTERNATIONAL_ROW "
      "despatchMethod, and only with one"]),
    (changed(lambda b: b["customParams"][0].update(value="%%%")), ["customParams.pdfContent: must be base64"]),
    (changed(lambda b: b["customParams"][0].update(value=base64.b64encode(b"GIF89a").decode())),
     ["customParams.pdfContent: is not a PDF"]),
    (changed(lambda b: b["customParams"][0].update(value=base64.b64encode(b"%PDF-1.7 broken").decode())),
     ["customParams.pdfContent: the PDF cannot be read"]),
    (changed(lambda b: b["customParams"].pop(2)), ["customParams.serviceIdentifier: required, a string"]),
    (changed(lambda b: b["callbackParams"].update(target="/relative")),
     ["callbackParams.target: required, an absolute http(s) URL"]),
])
def test_a_print_job_not_in_the_documented_format_is_a_400_with_every_problem(body: Any, details: list[str]) -> None:
    async def scenario(w: World) -> tuple[int, Any, int]:
        status, reply = await w.raw_print_job(body, {"Authorization": await w.token(), "X-API-Key": "k",
                                                     "Content-Type": "application/json"})
        return status, reply, w.state.stats.of(dvla.NAME).rejected
    status, reply, rejected = run(scenario)
    assert status == 400
    assert [error["detail"] for error in reply["errors"]] == details
    assert rejected == 1


def test_a_print_job_in_the_documented_format_is_accepted_as_it_is() -> None:
    async def scenario(w: World) -> tuple[int, Any]:
        return await w.raw_print_job(valid_body(), {"Authorization": await w.token(), "X-API-Key": "k"})
    assert run(scenario) == (202, {"id": "job-1"})


def test_a_job_without_callback_params_is_accepted_and_nothing_is_posted() -> None:
    async def scenario(w: World) -> tuple[int, int]:
        body = valid_body()
        del body["callbackParams"]
        status, _ = await w.raw_print_job(body, {"Authorization": await w.token(), "X-API-Key": "k"})
        return status, w.state.receipts.pending
    assert run(scenario) == (202, 0)


def test_a_print_job_larger_than_a_mebibyte_is_read_whole() -> None:
    big_pdf = pdf_of(1, padding=2 * 1024 * 1024)

    async def scenario(w: World) -> Any:
        await w.client.send_letter(JOB, big_pdf)
        return (await w.callbacks())[0]
    assert read_status_callback(run(scenario).json()).total_sheets == 1


def test_the_callback_times_are_utc_and_the_production_run_date_is_london_time() -> None:
    clock = ManualClock(datetime(2026, 7, 1, 16, 30, tzinfo=UTC))  # British Summer Time: 17:30 in London

    async def scenario(w: World) -> Any:
        await w.client.send_letter(JOB, THREE_PAGES)
        return (await w.callbacks())[0].json()
    body = run(scenario, clock)
    assert body["time"] == "2026-07-01T16:30:00.000Z"
    assert body["data"]["transitionDate"] == "2026-07-01T16:30:00Z"
    assert {"key": "productionRunDate", "value": "2026-07-01 17:30:00.000"} in body["data"]["despatchProperties"]
