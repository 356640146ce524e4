"""The Firetext client speaks Firetext's form-encoded wire format to a real HTTP server on loopback,
accepts only a JSON reply with code 0, and turns every way a call can fail into its error category."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qsl

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
from clarion.providers.sms.firetext import FiretextClient, firetext_client_from_settings
from tests.conftest import START
from tests.unit.providers.capture import Answer, CaptureServer, RefusingPort

PHONE = "447700900123"
NOTIFICATION_ID = "0b4c8a6e-2d4f-4c1e-9a57-3f0f5d6c7e81"
MESSAGE = SmsMessage(to=PHONE, content="Hello & welcome + caf\u00e9 \U0001F389", reference=NOTIFICATION_ID,
                     international=False, sender="CLARION")
PATH = "/api/sendsms/json"
QUEUED = Answer(body=b'{"code":0,"description":"SMS successfully queued"}')


def send(url: str, message: SmsMessage = MESSAGE, *, receipt_url: str | None = None, timeout_s: float = 5.0,
         clock: ManualClock | None = None) -> None:
    async def go() -> None:
        async with make_http_session(connections=4, timeout_s=timeout_s) as session:
            client = FiretextClient(clock=clock or ManualClock(START), url=url, api_key="ft-key",
                                    international_api_key="ft-international-key", receipt_url=receipt_url,
                                    session=session, timeout_s=timeout_s)
            await client.send_sms(message)

    asyncio.run(go())


def test_firetext_receives_a_form_post_with_every_character_encoded() -> None:
    with CaptureServer(QUEUED) as server:
        send(server.url + PATH)
    request = server.only_request()
    assert (request.method, request.path) == ("POST", PATH)
    # UTF-8 percent-encoding; "&" and "+" escaped so they stay text; spaces become "+".
    assert request.body == (
        b"apiKey=ft-key&from=CLARION&to=447700900123"
        b"&message=Hello+%26+welcome+%2B+caf%C3%A9+%F0%9F%8E%89"
        b"&reference=0b4c8a6e-2d4f-4c1e-9a57-3f0f5d6c7e81")
    assert request.header("Content-Type") == "application/x-www-form-urlencoded"
    assert request.header("Content-Length") == str(len(request.body))
    assert request.header("Authorization") is None  # the key travels in the form
    assert dict(parse_qsl(request.body.decode()))["message"] == MESSAGE.content


def test_an_international_number_is_sent_with_the_international_key() -> None:
    international = SmsMessage(to="+16135550123", content="Hi", reference=NOTIFICATION_ID, international=True,
                               sender="CLARION")
    with CaptureServer(QUEUED) as server:
        send(server.url + PATH, international)
    fields = dict(parse_qsl(server.only_request().body.decode()))
    assert fields["apiKey"] == "ft-international-key"
    assert fields["to"] == "16135550123"  # Firetext takes the number without "+"


def test_the_receipt_url_is_sent_only_when_one_is_configured() -> None:
    with CaptureServer(QUEUED) as server:
        send(server.url + PATH, receipt_url="https://notify:s3cret@clarion.example/notifications/sms/firetext")
        send(server.url + PATH, receipt_url=None)
    with_receipt, without_receipt = server.requests
    assert with_receipt.body.endswith(
        b"&reference=0b4c8a6e-2d4f-4c1e-9a57-3f0f5d6c7e81"
        b"&receipt=https%3A%2F%2Fnotify%3As3cret%40clarion.example%2Fnotifications%2Fsms%2Ffiretext")
    assert b"receipt=" not in without_receipt.body


@pytest.mark.parametrize(("answer", "category", "detail"), [
    (Answer(status=500, body=b"Internal Server Error", content_type="text/plain"), ProviderUnavailable,
     "HTTP 500"),
    (Answer(status=502, body=b"<html>Bad Gateway</html>", content_type="text/html"), ProviderUnavailable,
     "HTTP 502"),
    (Answer(status=429, body=b'{"code":429}'), ProviderThrottled, "HTTP 429"),
    (Answer(status=400, body=b'{"code":5}'), PermanentProviderError, "HTTP 400"),
    # A rejected key is the same for every message: a fault against Firetext, so the message is retried elsewhere.
    (Answer(status=401, body=b'{"code":1}'), ProviderUnavailable, "HTTP 401"),
    (Answer(body=b"<html>maintenance</html>", content_type="text/html"), ProviderUnavailable, "not JSON"),
    # 200 but not queued: a fault against Firetext, retried (nothing was queued, so nothing is sent twice).
    (Answer(body=b'{"code":1,"description":"Authentication error"}'), ProviderUnavailable, "code 1"),
    (Answer(body=b'{"code":7,"description":"Insufficient credit"}'), ProviderUnavailable, "code 7"),
    (Answer(body=b'{"code":"0"}'), ProviderUnavailable, "no numeric code"),
    (Answer(body=b'{"description":"SMS successfully queued"}'), ProviderUnavailable, "no numeric code"),
    (Answer(body=b"[0]"), ProviderUnavailable, "no numeric code"),
    (Answer(body=b'{"code":false}'), ProviderUnavailable, "no numeric code"),
    (Answer(close="before_reply"), ProviderUnavailable, "without replying"),
    (Answer(body=b'{"code":0}', close="mid_reply"), ProviderUnavailable, "part-way"),
])
def test_each_failed_call_raises_its_category(answer: Answer, category: type[ProviderError], detail: str) -> None:
    with CaptureServer(answer) as server, pytest.raises(ProviderError) as raised:
        send(server.url + PATH)
    assert type(raised.value) is category
    assert raised.value.provider == "firetext"
    assert detail in str(raised.value)
    assert PHONE not in str(raised.value) and MESSAGE.content not in str(raised.value)
    assert answer.body.decode("latin-1") not in str(raised.value)  # the reply is never quoted


def test_a_reply_slower_than_the_timeout_is_a_timeout() -> None:
    with CaptureServer(Answer(delay_s=2)) as server, \
            pytest.raises(ProviderTimeout, match="no reply within 0.2s"):
        send(server.url + PATH, timeout_s=0.2)
    assert len(server.requests) == 1


def test_a_refused_connection_means_firetext_is_unavailable() -> None:
    with RefusingPort() as url, pytest.raises(ProviderUnavailable, match="could not connect"):
        send(url + PATH)


def test_one_log_line_per_call_with_its_duration_and_never_the_phone_number(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(START)
    with caplog.at_level(logging.DEBUG), \
            CaptureServer(QUEUED, on_request=lambda _: clock.advance(seconds=0.75)) as server:
        send(server.url + PATH, clock=clock)
        server.answer = Answer(body=b'{"code":2,"description":"Invalid number 447700900123"}')
        with pytest.raises(ProviderUnavailable):
            send(server.url + PATH, clock=clock)

    finished = [r for r in caplog.records if r.getMessage() == "provider request finished"]
    assert [(r.provider_name, r.notification_id, r.duration, r.outcome) for r in finished] == [
        ("firetext", NOTIFICATION_ID, 0.75, "success"), ("firetext", NOTIFICATION_ID, 0.75, "error")]
    formatter = JsonFormatter("test")
    for record in caplog.records:
        line = formatter.format(record)
        assert PHONE not in line and "welcome" not in line


def test_the_client_built_from_settings_uses_both_keys_and_puts_credentials_into_the_receipt_url() -> None:
    async def go(settings: Settings, message: SmsMessage) -> None:
        async with make_http_session(connections=2, timeout_s=5) as session:
            client = firetext_client_from_settings(settings, session=session, clock=ManualClock(START))
            await client.send_sms(message)

    international = SmsMessage(to="33612345678", content="Bonjour", reference=NOTIFICATION_ID, international=True,
                               sender="CLARION")
    with CaptureServer(QUEUED) as server:
        settings = Settings(firetext_url=server.url + PATH, firetext_api_key="uk-key",
                            firetext_international_api_key="world-key", receipt_basic_auth_user="notify",
                            firetext_receipt_url="https://clarion.example/notifications/sms/firetext",
                            firetext_inbound_sms_auth=["p@ss", "old"])
        asyncio.run(go(settings, MESSAGE))
        asyncio.run(go(settings, international))
        asyncio.run(go(Settings(firetext_url=server.url + PATH), MESSAGE))
    domestic, abroad, defaults = (dict(parse_qsl(r.body.decode())) for r in server.requests)
    assert (domestic["apiKey"], abroad["apiKey"]) == ("uk-key", "world-key")
    assert domestic["receipt"] == "https://notify:p%40ss@clarion.example/notifications/sms/firetext"
    assert "receipt" not in defaults


@pytest.mark.parametrize(("arguments", "problem"), [
    ({"url": "ftp://www.firetext.co.uk/api/sendsms/json"}, "FIRETEXT_URL must be an absolute http"),
    ({"api_key": ""}, "must not be empty"),
    ({"international_api_key": ""}, "must not be empty"),
    ({"receipt_url": "//notify:pw@clarion.example/r"}, "FIRETEXT_RECEIPT_URL must be an absolute http"),
    ({"timeout_s": -1}, "timeout must be positive"),
])
def test_a_client_with_unusable_settings_is_refused_before_it_sends(arguments: dict[str, object],
                                                                      problem: str) -> None:
    async def build() -> None:
        async with make_http_session(connections=2, timeout_s=5) as session:
            settings: dict[str, object] = {"url": "https://www.firetext.co.uk/api/sendsms/json", "api_key": "k",
                                           "international_api_key": "i", "receipt_url": None, "timeout_s": 10.0}
            FiretextClient(clock=ManualClock(START), session=session,  # type: ignore[arg-type]
                           **{**settings, **arguments})

    with pytest.raises(ValueError, match=problem):
        asyncio.run(build())
