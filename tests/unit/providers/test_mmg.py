"""The MMG client speaks MMG's JSON wire format to a real HTTP server on loopback and turns every way
a call can fail into the error category that decides what happens next."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from clarion.clock import ManualClock
from clarion.config import Settings
from clarion.logs import JsonFormatter
from clarion.providers.base import SmsMessage
from clarion.providers.errors import (
    PermanentProviderError,
    ProviderError,
    ProviderThrottled,
    ProviderTimeout,
    ProviderUnavailable,
)
from clarion.providers.http import make_http_session
from clarion.providers.sms.mmg import MmgClient, mmg_client_from_settings
from tests.conftest import START
from tests.unit.providers.capture import Answer, CaptureServer, RefusingPort

PHONE = "447700900123"
NOTIFICATION_ID = "0b4c8a6e-2d4f-4c1e-9a57-3f0f5d6c7e81"
MESSAGE = SmsMessage(to=PHONE, content="Hello & welcome + caf\u00e9 \U0001F389", reference=NOTIFICATION_ID,
                     international=False, sender="CLARION")
PATH = "/jsonv2a/api.php"
MMG_ACCEPTED = Answer(body=b'{"Reference": 1234567}')


class RecordingMetrics:
    def __init__(self) -> None:
        self.records: list[tuple[str, bool, float]] = []

    def record(self, provider: str, *, success: bool, duration_s: float) -> None:
        self.records.append((provider, success, duration_s))


def send(url: str, message: SmsMessage = MESSAGE, *, receipt_url: str | None = None, timeout_s: float = 5.0,
         clock: ManualClock | None = None, metrics: RecordingMetrics | None = None) -> None:
    async def go() -> None:
        async with make_http_session(connections=4, timeout_s=timeout_s) as session:
            client = MmgClient(clock=clock or ManualClock(START), metrics=metrics or RecordingMetrics(),
                               url=url, api_key="mmg-test-key", receipt_url=receipt_url, session=session,
                               timeout_s=timeout_s)
            await client.send_sms(message)

    asyncio.run(go())


def test_mmg_receives_a_json_post_with_the_api_key_as_the_basic_token() -> None:
    with CaptureServer(MMG_ACCEPTED) as server:
        send(server.url + PATH)
    request = server.only_request()
    assert (request.method, request.path) == ("POST", PATH)
    assert request.body == (
        b'{"reqType": "BULK", "MSISDN": "447700900123", "msg": "Hello & welcome + caf\\u00e9 \\ud83c\\udf89", '
        b'"sender": "CLARION", "cid": "0b4c8a6e-2d4f-4c1e-9a57-3f0f5d6c7e81", "multi": true}')
    assert request.header("Content-Type") == "application/json"
    assert request.header("Authorization") == "Basic mmg-test-key"
    assert request.header("Content-Length") == str(len(request.body))
    assert request.header("Transfer-Encoding") is None
    assert json.loads(request.body)["msg"] == MESSAGE.content  # the escapes decode to the exact text


def test_the_receipt_url_goes_in_delurl_only_when_one_is_configured() -> None:
    receipt = "https://notify:s3cret@clarion.example/notifications/sms/mmg"
    with CaptureServer(MMG_ACCEPTED) as server:
        send(server.url + PATH, receipt_url=receipt)
        send(server.url + PATH, receipt_url=None)
    with_receipt, without_receipt = server.requests
    assert with_receipt.body.endswith(
        b'"multi": true, "delurl": "https://notify:s3cret@clarion.example/notifications/sms/mmg"}')
    assert b"delurl" not in without_receipt.body


def test_a_plus_never_reaches_mmg_in_the_msisdn() -> None:
    with CaptureServer(MMG_ACCEPTED) as server:
        send(server.url + PATH, SmsMessage(to="+" + PHONE, content="Hi", reference=NOTIFICATION_ID,
                                           international=False, sender="CLARION"))
    assert json.loads(server.only_request().body)["MSISDN"] == PHONE


@pytest.mark.parametrize(("answer", "category", "detail"), [
    (Answer(status=500, body=b"Internal Server Error", content_type="text/plain"), ProviderUnavailable,
     "HTTP 500"),
    (Answer(status=502, body=b"<html>Bad Gateway</html>", content_type="text/html"), ProviderUnavailable,
     "HTTP 502"),
    (Answer(status=429, body=b'{"error": "slow down"}'), ProviderThrottled, "HTTP 429"),
    (Answer(status=400, body=b'{"error": "bad MSISDN"}'), PermanentProviderError, "HTTP 400"),
    # A rejected key is the same for every message: a fault against MMG, so the message is retried elsewhere.
    (Answer(status=401, body=b'{"error": "unauthorised"}'), ProviderUnavailable, "HTTP 401"),
    (Answer(status=200, body=b"<html>maintenance</html>", content_type="text/html"), ProviderUnavailable,
     "not JSON"),
    (Answer(status=200, body=b"\xff\xfe"), ProviderUnavailable, "not JSON"),
    (Answer(status=200, body=b'{"Reference": "' + b"9" * 70_000 + b'"}'), ProviderUnavailable, "larger than"),
    (Answer(close="before_reply"), ProviderUnavailable, "without replying"),
    (Answer(body=b'{"Reference": 1234567}', close="mid_reply"), ProviderUnavailable, "part-way"),
])
def test_each_failed_call_raises_its_category(answer: Answer, category: type[ProviderError], detail: str) -> None:
    with CaptureServer(answer) as server, pytest.raises(ProviderError) as raised:
        send(server.url + PATH)
    assert type(raised.value) is category
    assert raised.value.provider == "mmg"
    assert detail in str(raised.value)
    assert PHONE not in str(raised.value) and MESSAGE.content not in str(raised.value)
    assert answer.body.decode("latin-1") not in str(raised.value)  # the reply is never quoted


def test_a_reply_slower_than_the_timeout_is_a_timeout() -> None:
    with CaptureServer(Answer(delay_s=2)) as server, pytest.raises(ProviderTimeout, match="no reply within 0.2s"):
        send(server.url + PATH, timeout_s=0.2)
    assert len(server.requests) == 1  # the request went out; MMG may or may not have taken it


def test_a_reply_that_stalls_after_its_headers_is_a_timeout() -> None:
    with CaptureServer(Answer(body=b'{"Reference": 1}', body_after_s=2)) as server, pytest.raises(ProviderTimeout):
        send(server.url + PATH, timeout_s=0.2)


def test_a_refused_connection_means_mmg_is_unavailable() -> None:
    with RefusingPort() as url, pytest.raises(ProviderUnavailable, match="could not connect"):
        send(url + PATH)


def test_one_log_line_per_call_with_its_duration_and_never_the_phone_number(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(START)
    metrics = RecordingMetrics()
    # MMG takes 1.5 s by the injected clock to answer each call.
    with caplog.at_level(logging.DEBUG), \
            CaptureServer(MMG_ACCEPTED, on_request=lambda _: clock.advance(seconds=1.5)) as server:
        send(server.url + PATH, clock=clock, metrics=metrics)
        server.answer = Answer(status=503)
        with pytest.raises(ProviderUnavailable):
            send(server.url + PATH, clock=clock, metrics=metrics)

    finished = [r for r in caplog.records if r.getMessage() == "provider request finished"]
    assert [(r.provider_name, r.notification_id, r.duration, r.outcome) for r in finished] == [
        ("mmg", NOTIFICATION_ID, 1.5, "success"), ("mmg", NOTIFICATION_ID, 1.5, "error")]
    assert metrics.records == [("mmg", True, 1.5), ("mmg", False, 1.5)]
    formatter = JsonFormatter("test")
    for record in caplog.records:
        line = formatter.format(record)
        assert PHONE not in line and "welcome" not in line


def test_the_client_built_from_settings_puts_receipt_credentials_into_delurl() -> None:
    async def go(settings: Settings) -> None:
        async with make_http_session(connections=2, timeout_s=5) as session:
            client = mmg_client_from_settings(settings, session=session, clock=ManualClock(START))
            await client.send_sms(MESSAGE)

    with CaptureServer(MMG_ACCEPTED) as server:
        asyncio.run(go(Settings(
            mmg_url=server.url + PATH, mmg_api_key="from-settings", receipt_basic_auth_user="notify",
            mmg_receipt_url="https://clarion.example/notifications/sms/mmg",
            mmg_inbound_sms_auth=["new:pass/word", "old-password"])))
        asyncio.run(go(Settings(mmg_url=server.url + PATH, mmg_receipt_url="https://clarion.example/r")))
        asyncio.run(go(Settings(mmg_url=server.url + PATH)))
    with_credentials, without_credentials, without_receipt_url = (json.loads(r.body) for r in server.requests)
    assert server.requests[0].header("Authorization") == "Basic from-settings"
    assert with_credentials["delurl"] == "https://notify:new%3Apass%2Fword@clarion.example/notifications/sms/mmg"
    assert without_credentials["delurl"] == "https://clarion.example/r"
    assert "delurl" not in without_receipt_url


@pytest.mark.parametrize(("arguments", "problem"), [
    ({"url": "api.mmg.co.uk/jsonv2a/api.php"}, "MMG_URL must be an absolute http"),
    ({"api_key": ""}, "MMG_API_KEY is empty"),
    ({"receipt_url": "clarion.example/notifications/sms/mmg"}, "MMG_RECEIPT_URL must be an absolute http"),
    ({"timeout_s": 0}, "timeout must be positive"),
])
def test_a_client_with_unusable_settings_is_refused_before_it_sends(arguments: dict[str, object],
                                                                      problem: str) -> None:
    async def build() -> None:
        async with make_http_session(connections=2, timeout_s=5) as session:
            settings: dict[str, object] = {"url": "https://api.mmg.co.uk/jsonv2a/api.php", "api_key": "k",
                                           "receipt_url": None, "timeout_s": 10.0}
            MmgClient(clock=ManualClock(START), session=session, **{**settings, **arguments})  # type: ignore[arg-type]

    with pytest.raises(ValueError, match=problem):
        asyncio.run(build())
