"""The SES client: boto3's sesv2 SendEmail against moto's SES server, on the wire, and its failures mapped."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from clarion.clock import ManualClock
from clarion.config import Settings
from clarion.providers.base import EmailMessage
from clarion.providers.email.ses import SesClient, build_sesv2, ses_client_from_settings
from clarion.providers.errors import (
    PermanentProviderError,
    ProviderError,
    ProviderThrottled,
    ProviderTimeout,
    ProviderUnavailable,
)
from tests.conftest import START
from tests.unit.providers.ses_capture import SesCapture

UNSUBSCRIBE = "https://api.clarion.example/unsubscribe/3f0d6f1e-2b5c-4c8e-9a3e-1d2f5b6c7a8e/token"
MESSAGE = EmailMessage(
    from_address='"Council Tax" <council.tax@notifications.clarion.example>',
    to_address="someone@bücher.example",
    subject="Your bill is ready",
    body="Your bill is ready.\n\nPay it online.",
    html_body="<p>Your bill is ready.</p><p>Pay it online.</p>",
    reply_to_address="help@mañana.example",
    headers=[{"Name": "List-Unsubscribe", "Value": f"<{UNSUBSCRIBE}>"},
             {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"}],
    reference="3f0d6f1e-2b5c-4c8e-9a3e-1d2f5b6c7a8e",
)


def ses_client(endpoint_url: str, **overrides: Any) -> SesClient:
    settings = Settings(environment="test", ses_endpoint_url=endpoint_url, aws_region="eu-west-1",
                        aws_access_key_id="AKIDCLARIONTEST", aws_secret_access_key="clarion-test-secret",
                        **overrides)
    return ses_client_from_settings(settings, clock=ManualClock(START))


def send(client: SesClient, *messages: EmailMessage) -> list[str | BaseException]:
    """Send the messages concurrently on one event loop; each result is a reference or the exception."""
    async def run() -> list[str | BaseException]:
        try:
            return await asyncio.gather(*(client.send_email(m) for m in messages), return_exceptions=True)
        finally:
            await client.close()
    return asyncio.run(run())


def send_one(client: SesClient, message: EmailMessage = MESSAGE) -> str:
    [result] = send(client, message)
    if isinstance(result, BaseException):
        raise result
    return result


# --- against moto's SES server -------------------------------------------------------------------

@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def moto_call(moto_url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(f"{moto_url}{path}", data=json.dumps(body or {}).encode(),
                                     method="POST" if body is not None else "GET")
    with urllib.request.urlopen(request) as reply:
        return json.loads(reply.read() or b"null")


@pytest.fixture
def moto_ses(moto_url: str) -> str:
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).close()
    return moto_url


def verify_sending_domain(moto_url: str) -> None:
    sesv2 = build_sesv2(region="eu-west-1", endpoint_url=moto_url, access_key_id="AKIDCLARIONTEST",
                        secret_access_key="clarion-test-secret", timeout_s=10, connections=1)
    sesv2.create_email_identity(EmailIdentity="notifications.clarion.example")
    sesv2.close()


def test_an_email_sent_through_moto_is_stored_under_the_message_id_returned(moto_ses: str) -> None:
    verify_sending_domain(moto_ses)
    reference = send_one(ses_client(moto_ses))
    [stored] = moto_call(moto_ses, "/moto-api/data.json")["ses"]["Message"]
    assert stored["id"] == reference
    assert stored["destinations"] == {"ToAddresses": ["someone@xn--bcher-kva.example"],
                                      "CcAddresses": [], "BccAddresses": []}
    assert stored["source"] == "Council Tax <council.tax@notifications.clarion.example>"
    assert stored["subject"] == "Your bill is ready"
    assert stored["body"] == MESSAGE.html_body


def test_moto_refusing_an_unverified_sender_is_a_permanent_failure(moto_ses: str) -> None:
    with pytest.raises(PermanentProviderError, match="400 MessageRejected") as refused:
        send_one(ses_client(moto_ses))
    assert "council.tax" not in str(refused.value)
    assert moto_call(moto_ses, "/moto-api/data.json")["ses"]["Message"] == []


# --- the request on the wire -----------------------------------------------------------------------

def test_the_request_is_notify_s_send_email_call_with_idna_addresses() -> None:
    with SesCapture() as ses:
        assert send_one(ses_client(ses.url)) == "capture-1"
    [request] = ses.requests
    assert (request.method, request.path) == ("POST", "/v2/email/outbound-emails")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDCLARIONTEST/")
    assert "/eu-west-1/ses/aws4_request" in request.headers["authorization"]
    assert request.json() == {
        "FromEmailAddress": "Council Tax <council.tax@notifications.clarion.example>",
        "Destination": {"ToAddresses": ["someone@xn--bcher-kva.example"], "CcAddresses": [],
                        "BccAddresses": []},
        "Content": {"Simple": {
            "Subject": {"Data": "Your bill is ready"},
            "Body": {"Text": {"Data": MESSAGE.body}, "Html": {"Data": MESSAGE.html_body}},
            "Headers": [{"Name": "List-Unsubscribe", "Value": f"<{UNSUBSCRIBE}>"},
                        {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"}],
        }},
        "ReplyToAddresses": ["help@xn--maana-pta.example"],
    }


def test_a_non_ascii_sender_name_is_mime_encoded_and_no_reply_to_is_an_empty_list() -> None:
    message = EmailMessage(from_address='"Gwasanaeth Ŵyn" <hysbysiad@notifications.clarion.example>',
                           to_address="someone@example.com", subject="Eich bil — ŵ", body="Helo",
                           html_body="<p>Helo</p>", reply_to_address=None)
    with SesCapture() as ses:
        send_one(ses_client(ses.url), message)
    sent = ses.requests[0].json()
    assert sent["FromEmailAddress"] == "=?utf-8?q?Gwasanaeth_=C5=B4yn?= <hysbysiad@notifications.clarion.example>"
    assert sent["Content"]["Simple"]["Subject"] == {"Data": "Eich bil — ŵ"}  # SES encodes the subject
    assert sent["ReplyToAddresses"] == []
    assert sent["Content"]["Simple"]["Headers"] == []


def test_an_address_that_cannot_be_encoded_fails_permanently_without_a_request() -> None:
    message = EmailMessage(from_address=MESSAGE.from_address, to_address="someone@bad_host_ü.example",
                           subject="s", body="b", html_body="<p>b</p>", reply_to_address=None)
    with SesCapture() as ses:
        with pytest.raises(PermanentProviderError, match="address not accepted") as refused:
            send_one(ses_client(ses.url), message)
    assert "someone" not in str(refused.value)
    assert ses.requests == []


def test_many_emails_are_in_flight_at_once() -> None:
    """More concurrent calls than asyncio's default executor has threads (min(32, CPUs + 4))."""
    count = 40
    with SesCapture() as ses:
        ses.hold_until_in_flight(count)  # no answer until all of them are open at the same time
        results = send(ses_client(ses.url), *([MESSAGE] * count))
    assert [r for r in results if not isinstance(r, str)] == []
    assert len(ses.requests) == count


# --- SES's error answers -----------------------------------------------------------------------------

def error_type(code: str) -> dict[str, str]:
    """SES's rest-json error header; real SES appends a namespace after a colon."""
    return {"Content-Type": "application/json",
            "x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazonaws.sesv2/"}


@pytest.mark.parametrize(("status", "headers", "body", "category"), [
    (400, {"Content-Type": "application/json"},
     {"__type": "InvalidParameterValue", "message": "Invalid domain in someone@xn--bcher-kva.example"},
     PermanentProviderError),
    (400, error_type("BadRequestException"), {"message": "Missing final '@domain'"}, PermanentProviderError),
    (400, error_type("MessageRejected"),
     {"message": "Email address is not verified: someone@xn--bcher-kva.example"}, PermanentProviderError),
    (429, error_type("TooManyRequestsException"), {"message": "Maximum sending rate exceeded."},
     ProviderThrottled),
    (400, error_type("LimitExceededException"), {"message": "Daily message quota exceeded."},
     ProviderThrottled),
    (400, error_type("SendingPausedException"), {"message": "Sending paused for this account."},
     ProviderUnavailable),
    (400, error_type("AccountSuspendedException"), {"message": "Account suspended."}, ProviderUnavailable),
    (400, error_type("MailFromDomainNotVerifiedException"), {"message": "Domain not verified."},
     ProviderUnavailable),
    (500, {"Content-Type": "application/json"}, {"message": "Internal failure"}, ProviderUnavailable),
    (503, {"Content-Type": "text/html"}, "<html>Service Unavailable</html>", ProviderUnavailable),
])
def test_ses_error_answers_map_to_what_the_caller_does_next(
        status: int, headers: dict[str, str], body: Any, category: type[ProviderError]) -> None:
    with SesCapture() as ses:
        ses.answer(status, body, headers)
        with pytest.raises(ProviderError) as failure:
            send_one(ses_client(ses.url))
    assert type(failure.value) is category
    assert f"HTTP {status}" in str(failure.value)
    assert "someone" not in str(failure.value)
    assert len(ses.requests) == 1  # botocore never retried: retries are clarion's


def test_no_reply_within_the_timeout_is_a_provider_timeout() -> None:
    with SesCapture() as ses:
        ses.hang()
        with pytest.raises(ProviderTimeout, match="no reply from SES within 0.2s"):
            send_one(ses_client(ses.url, provider_timeout_s=0.2))
    assert len(ses.requests) == 1


def test_a_refused_connection_means_ses_is_unavailable() -> None:
    with socket.socket() as probe:  # a loopback port with nothing listening on it
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(ProviderUnavailable, match="no answer from SES: EndpointConnectionError"):
        send_one(ses_client(f"http://127.0.0.1:{closed_port}"))


def test_a_reply_without_a_message_id_is_not_taken_as_sent() -> None:
    with SesCapture() as ses:
        ses.answer(200, {"Unexpected": True})
        with pytest.raises(ProviderUnavailable, match="no MessageId"):
            send_one(ses_client(ses.url))
