"""The template methods time and log every provider call, success or failure, with the injected clock."""

from __future__ import annotations

import asyncio
import logging

import pytest

from clarion.clock import ManualClock
from clarion.providers.base import Client, EmailMessage, SmsClient, SmsMessage
from clarion.providers.errors import ProviderTimeout
from tests.conftest import START
from tests.unit.delivery.fakes import FakeEmail, FakeSms

MESSAGE = SmsMessage(to="447700900123", content="Hi", reference="n-1", international=False, sender="CLARION")


def provider_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [{k: getattr(r, k) for k in ("provider_name", "notification_id", "duration", "outcome")}
            for r in caplog.records if r.message == "provider request finished"]


def test_send_sms_logs_one_line_with_the_duration_of_the_call(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(START)
    client = FakeSms(clock=clock, during=lambda _: clock.advance(seconds=2.5))
    with caplog.at_level(logging.INFO, logger="clarion.providers.base"):
        asyncio.run(client.send_sms(MESSAGE))
    assert client.sent == [MESSAGE]
    assert provider_lines(caplog) == [
        {"provider_name": "mmg", "notification_id": "n-1", "duration": 2.5, "outcome": "success"}]


def test_a_failed_call_is_logged_and_raised(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(START)
    client = FakeSms(clock=clock, error=ProviderTimeout("mmg", "no reply in 60s"),
                     during=lambda _: clock.advance(seconds=60))
    with caplog.at_level(logging.INFO, logger="clarion.providers.base"), pytest.raises(ProviderTimeout):
        asyncio.run(client.send_sms(MESSAGE))
    assert provider_lines(caplog)[0]["outcome"] == "error"
    assert provider_lines(caplog)[0]["duration"] == 60


def test_send_email_returns_the_provider_reference() -> None:
    client = FakeEmail(clock=ManualClock(START))
    email = EmailMessage(from_address="a@b", to_address="c@d", subject="s", body="b", html_body="<p>b</p>",
                         reply_to_address=None, reference="n-2")
    assert asyncio.run(client.send_email(email)) == "ses-1"
    assert client.notification_type == "email"


def test_a_client_must_name_its_provider() -> None:
    class Nameless(SmsClient):
        async def try_send_sms(self, message: SmsMessage) -> None:
            raise AssertionError("never called")

    with pytest.raises(TypeError, match="name"):
        Nameless(clock=ManualClock(START))  # type: ignore[abstract]
    assert issubclass(SmsClient, Client)
