"""The SMTP client against a real aiosmtpd relay on loopback: STARTTLS, AUTH, MIME, pooling, refusals."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from clarion.clock import ManualClock
from clarion.config import Settings
from clarion.providers.base import EmailMessage
from clarion.providers.email.smtp import SmtpClient, smtp_client_from_settings
from clarion.providers.errors import (
    PermanentProviderError,
    ProviderError,
    ProviderThrottled,
    ProviderTimeout,
    ProviderUnavailable,
)
from tests.conftest import START

# aiosmtpd warns about its own legacy attribute whenever a login succeeds.
pytestmark = pytest.mark.filterwarnings("ignore:Session.login_data is deprecated")

USERNAME, PASSWORD = "clarion", "relay-password"
UNSUBSCRIBE = "https://api.clarion.example/unsubscribe/3f0d6f1e-2b5c-4c8e-9a3e-1d2f5b6c7a8e/" + "t" * 120
MESSAGE = EmailMessage(
    from_address='"Gwasanaeth Ŵyn" <hysbysiad@notifications.clarion.example>',
    to_address="someone@bücher.example",
    subject="Eich bil — ŵ ready",
    body="Your bill is ready.\n\nPay it online: ŵ",
    html_body="<p>Your bill is ready.</p><p>Pay it online: ŵ</p>",
    reply_to_address="help@mañana.example",
    headers=[{"Name": "List-Unsubscribe", "Value": f"<{UNSUBSCRIBE}>"},
             {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"}],
    reference="3f0d6f1e-2b5c-4c8e-9a3e-1d2f5b6c7a8e",
)


# --- a relay on loopback ------------------------------------------------------------------------------

@dataclass
class Relay:
    """What the relay received and how it answers; `replies` overrides MAIL, RCPT or DATA."""

    received: list[Envelope] = field(default_factory=list)
    replies: dict[str, str] = field(default_factory=dict)
    logins: list[tuple[str, bytes]] = field(default_factory=list)  # (mechanism, username)
    tls_sessions: int = 0

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          options: list[str]) -> str:
        envelope.mail_from = address
        return self.replies.get("MAIL", "250 OK")

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          options: list[str]) -> str:
        reply = self.replies.get("RCPT", "250 OK")
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        reply = self.replies.get("DATA", "250 2.0.0 Message accepted")
        if reply.startswith("250"):
            self.received.append(envelope)
            self.tls_sessions += session.ssl is not None
        return reply

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                     auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((mechanism, auth_data.login))
        accepted = (auth_data.login, auth_data.password) == (USERNAME.encode(), PASSWORD.encode())
        # handled=False: aiosmtpd itself answers a refusal with 535
        return AuthResult(success=accepted, handled=False, auth_data=auth_data)


class LoopbackController(Controller):
    """aiosmtpd's Controller on a free loopback port, keeping every connection's SMTP session."""

    def __init__(self, handler: Relay, **kwargs: Any) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=0, **kwargs)
        self.sessions: list[SMTP] = []

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]  # the port the OS chose
        super()._trigger_server()
        self.sessions.clear()  # the start-up probe is not a client connection

    def factory(self) -> SMTP:
        smtp = super().factory()
        self.sessions.append(smtp)
        return smtp

    def drop_connections(self) -> None:
        """Close every open connection from the relay's side, as a relay does with idle ones."""
        async def abort_all() -> None:
            for smtp in self.sessions:
                if smtp.transport is not None:
                    smtp.transport.abort()
            for _ in range(3):  # let the loop run the socket closes it scheduled
                await asyncio.sleep(0)
        asyncio.run_coroutine_threadsafe(abort_all(), self.loop).result()


@dataclass(frozen=True)
class Certificate:
    ca_file: Path
    server_context: ssl.SSLContext


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, made here."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "clarion test relay")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    directory = tmp_path_factory.mktemp("relay-tls")
    cert_file, key_file = directory / "relay.pem", directory / "relay.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return Certificate(ca_file=cert_file, server_context=context)


def start_relay(relay: Relay, **kwargs: Any) -> LoopbackController:
    controller = LoopbackController(relay, **kwargs)
    controller.start()
    return controller


@pytest.fixture
def relay(certificate: Certificate) -> Iterator[tuple[Relay, LoopbackController]]:
    """A relay that insists on STARTTLS and then on AUTH, like a provider's submission port."""
    handler = Relay()
    controller = start_relay(handler, tls_context=certificate.server_context, require_starttls=True,
                             authenticator=handler.authenticate, auth_required=True)
    yield handler, controller
    controller.stop()


def client_for(port: int, certificate: Certificate | None, clock: ManualClock | None = None,
               **overrides: Any) -> SmtpClient:
    values: dict[str, Any] = {"environment": "test", "smtp_host": "127.0.0.1", "smtp_port": port,
                              "smtp_username": USERNAME, "smtp_password": PASSWORD}
    if certificate is not None:
        values["smtp_ca_file"] = str(certificate.ca_file)
    client = smtp_client_from_settings(Settings(**(values | overrides)), clock=clock or ManualClock(START))
    assert client is not None
    return client


def send(client: SmtpClient, *messages: EmailMessage, concurrently: bool = False) -> list[str | BaseException]:
    """Send on one event loop, one after another or all at once; each result is a reference or an error."""
    async def run() -> list[str | BaseException]:
        try:
            if concurrently:
                return await asyncio.gather(*(client.send_email(m) for m in messages), return_exceptions=True)
            results: list[str | BaseException] = []
            for message in messages:
                try:
                    results.append(await client.send_email(message))
                except ProviderError as error:
                    results.append(error)
            return results
        finally:
            await client.close()
    return asyncio.run(run())


def send_one(client: SmtpClient, message: EmailMessage = MESSAGE) -> str:
    [result] = send(client, message)
    if isinstance(result, BaseException):
        raise result
    return result


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def parsed(envelope: Envelope) -> email.message.EmailMessage:
    message = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


# --- what arrives --------------------------------------------------------------------------------------

def test_an_email_arrives_over_tls_as_text_and_html_with_notify_s_headers(
        relay: tuple[Relay, LoopbackController], certificate: Certificate) -> None:
    handler, controller = relay
    reference = send_one(client_for(controller.port, certificate))

    [envelope] = handler.received
    assert handler.tls_sessions == 1
    assert envelope.mail_from == "hysbysiad@notifications.clarion.example"
    assert envelope.rcpt_tos == ["someone@xn--bcher-kva.example"]
    received = parsed(envelope)
    assert received["From"] == "Gwasanaeth Ŵyn <hysbysiad@notifications.clarion.example>"
    assert received["To"] == "someone@xn--bcher-kva.example"
    assert received["Reply-To"] == "help@xn--maana-pta.example"
    assert received["Subject"] == "Eich bil — ŵ ready"
    assert received["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received["Date"].datetime == START
    assert received["Message-ID"] == f"<{reference}>"
    assert reference == "3f0d6f1e-2b5c-4c8e-9a3e-1d2f5b6c7a8e@notifications.clarion.example"
    assert received.get_content_type() == "multipart/alternative"
    text, html = received.iter_parts()
    # MIME's canonical line breaks are CRLF; the text itself arrives unchanged
    assert (text.get_content_type(), text.get_content()) == ("text/plain", crlf(MESSAGE.body + "\n"))
    assert (html.get_content_type(), html.get_content()) == ("text/html", crlf(MESSAGE.html_body + "\n"))


def test_the_message_on_the_wire_is_seven_bit_ascii(relay: tuple[Relay, LoopbackController],
                                                     certificate: Certificate) -> None:
    """No 8BITMIME or SMTPUTF8 needed from the relay: headers are encoded words, bodies quoted-printable."""
    handler, controller = relay
    send_one(client_for(controller.port, certificate))
    raw = handler.received[0].original_content or b""
    assert raw.isascii()
    assert b"Subject: Eich bil =?utf-8?" in raw


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_the_client_logs_in_with_the_mechanism_the_relay_offers(certificate: Certificate, mechanism: str) -> None:
    handler = Relay()
    other = {"PLAIN": "LOGIN", "LOGIN": "PLAIN"}[mechanism]
    controller = start_relay(handler, tls_context=certificate.server_context, require_starttls=True,
                             authenticator=handler.authenticate, auth_required=True,
                             auth_exclude_mechanism=[other])
    try:
        send_one(client_for(controller.port, certificate))
    finally:
        controller.stop()
    assert handler.logins == [(mechanism, USERNAME.encode())]
    assert len(handler.received) == 1


def test_a_relay_without_tls_or_auth_takes_email_when_so_configured() -> None:
    handler = Relay()
    controller = start_relay(handler)
    try:
        send_one(client_for(controller.port, None, smtp_starttls=False, smtp_username=None, smtp_password=None))
    finally:
        controller.stop()
    assert handler.tls_sessions == 0
    assert parsed(handler.received[0])["Subject"] == MESSAGE.subject


def test_many_emails_at_once_all_arrive_each_with_its_own_message_id(
        relay: tuple[Relay, LoopbackController], certificate: Certificate) -> None:
    handler, controller = relay
    messages = [EmailMessage(**{**MESSAGE.__dict__, "reference": f"notification-{n}"}) for n in range(8)]
    results = send(client_for(controller.port, certificate, smtp_connections=4), *messages, concurrently=True)
    assert sorted(map(str, results)) == sorted(f"notification-{n}@notifications.clarion.example" for n in range(8))
    assert sorted(parsed(e)["Message-ID"] for e in handler.received) == sorted(f"<{r}>" for r in results)
    assert len(controller.sessions) <= 4


# --- the connection pool -------------------------------------------------------------------------------

def test_one_connection_carries_email_after_email(relay: tuple[Relay, LoopbackController],
                                                  certificate: Certificate) -> None:
    handler, controller = relay
    send(client_for(controller.port, certificate), MESSAGE, MESSAGE, MESSAGE)
    assert len(handler.received) == 3
    assert len(controller.sessions) == 1
    assert handler.logins == [("PLAIN", USERNAME.encode())]  # logged in once


def test_a_connection_the_relay_dropped_while_idle_is_replaced_without_losing_or_doubling_the_email(
        relay: tuple[Relay, LoopbackController], certificate: Certificate) -> None:
    handler, controller = relay
    client = client_for(controller.port, certificate)

    async def two_emails_with_a_drop_between() -> None:
        await client.send_email(MESSAGE)
        controller.drop_connections()
        await client.send_email(MESSAGE)
        await client.close()

    asyncio.run(two_emails_with_a_drop_between())
    assert len(handler.received) == 2
    assert len(controller.sessions) == 2


def test_a_connection_idle_longer_than_the_limit_is_not_reused(relay: tuple[Relay, LoopbackController],
                                                               certificate: Certificate) -> None:
    handler, controller = relay
    clock = ManualClock(START)
    client = client_for(controller.port, certificate, clock=clock)

    async def emails_apart(gap_s: float) -> None:
        await client.send_email(MESSAGE)
        clock.advance(seconds=gap_s)
        await client.send_email(MESSAGE)

    async def run() -> None:
        await emails_apart(30)   # at the limit: reused
        await emails_apart(31)   # past it: a new connection
        await client.close()

    asyncio.run(run())
    assert len(handler.received) == 4
    assert len(controller.sessions) == 2


def test_after_a_refusal_the_next_email_goes_out(relay: tuple[Relay, LoopbackController],
                                                  certificate: Certificate) -> None:
    handler, controller = relay
    handler.replies["RCPT"] = "550 5.1.1 Recipient address rejected"
    client = client_for(controller.port, certificate)

    async def refused_then_accepted() -> str:
        with pytest.raises(PermanentProviderError):
            await client.send_email(MESSAGE)
        del handler.replies["RCPT"]
        try:
            return await client.send_email(MESSAGE)
        finally:
            await client.close()

    assert asyncio.run(refused_then_accepted()).endswith("@notifications.clarion.example")
    assert len(handler.received) == 1


# --- refusals and failures -----------------------------------------------------------------------------

@pytest.mark.parametrize(("command", "reply", "category", "detail"), [
    ("RCPT", "550 5.1.1 <someone@xn--bcher-kva.example>: Recipient address rejected", PermanentProviderError,
     "550 5.1.1 (rcpt)"),
    ("RCPT", "553 mailbox name not allowed", PermanentProviderError, "553 (rcpt)"),
    ("DATA", "554 5.7.1 Message rejected as spam", PermanentProviderError, "554 5.7.1 (data)"),
    ("RCPT", "451 4.3.0 Temporary lookup failure", ProviderUnavailable, "451 4.3.0 (rcpt)"),
    ("DATA", "451 4.3.0 Local error in processing", ProviderUnavailable, "451 4.3.0 (data)"),
    ("MAIL", "421 4.3.2 Service shutting down", ProviderUnavailable, "421 4.3.2 (mail)"),
    ("RCPT", "452 4.5.3 Too many recipients", ProviderThrottled, "452 4.5.3 (rcpt)"),
    ("DATA", "452 4.3.1 Insufficient system storage", ProviderThrottled, "452 4.3.1 (data)"),
    ("MAIL", "550 5.7.1 Sender address rejected: not owned by user", ProviderUnavailable, "550 5.7.1 (mail)"),
])
def test_relay_replies_map_to_what_the_caller_does_next(
        relay: tuple[Relay, LoopbackController], certificate: Certificate, command: str, reply: str,
        category: type[ProviderError], detail: str) -> None:
    handler, controller = relay
    handler.replies[command] = reply
    with pytest.raises(ProviderError) as failure:
        send_one(client_for(controller.port, certificate))
    assert type(failure.value) is category
    assert str(failure.value) == f"smtp: the relay answered {detail}"
    assert handler.received == []


def test_wrong_credentials_are_a_fault_of_the_relay_configuration(certificate: Certificate,
                                                                  relay: tuple[Relay, LoopbackController]) -> None:
    handler, controller = relay
    with pytest.raises(ProviderUnavailable, match="535 .*check SMTP_USERNAME and SMTP_PASSWORD"):
        send_one(client_for(controller.port, certificate, smtp_password="wrong"))
    assert handler.received == []


def test_a_relay_that_offers_no_starttls_gets_nothing_in_clear_text() -> None:
    handler = Relay()
    controller = start_relay(handler)  # no TLS at all
    try:
        with pytest.raises(ProviderUnavailable, match="STARTTLS"):
            send_one(client_for(controller.port, None, smtp_username=None, smtp_password=None))
    finally:
        controller.stop()
    assert handler.received == []


def test_a_certificate_the_system_does_not_trust_is_refused_by_default(
        relay: tuple[Relay, LoopbackController]) -> None:
    handler, controller = relay
    with pytest.raises(ProviderUnavailable, match="TLS with the relay failed: CERTIFICATE_VERIFY_FAILED"):
        send_one(client_for(controller.port, None))  # no SMTP_CA_FILE: the system's CAs only
    assert handler.received == []


def test_a_relay_that_never_answers_is_a_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (the backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        with pytest.raises(ProviderTimeout, match=r"no reply from the relay within 0.2s \(connect\)"):
            send_one(client_for(port, None, provider_timeout_s=0.2))


def test_a_refused_connection_means_the_relay_is_unavailable() -> None:
    with socket.socket() as probe:  # a loopback port with nothing listening on it
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(ProviderUnavailable, match="connect: ConnectionRefusedError"):
        send_one(client_for(closed_port, None))


@pytest.mark.parametrize(("change", "reason"), [
    ({"subject": "Line one\r\nBcc: everyone@example.com"}, "cannot be written as MIME"),
    ({"to_address": "someone@bad_host_ü.example"}, "address not accepted"),
    ({"headers": [{"Name": "To", "Value": "other@example.com"}]}, "cannot be written as MIME"),
])
def test_a_message_that_cannot_be_written_fails_permanently_before_connecting(
        relay: tuple[Relay, LoopbackController], certificate: Certificate, change: dict[str, Any],
        reason: str) -> None:
    handler, controller = relay
    with pytest.raises(PermanentProviderError, match=reason) as refused:
        send_one(client_for(controller.port, certificate), EmailMessage(**(MESSAGE.__dict__ | change)))
    assert "someone" not in str(refused.value)
    assert controller.sessions == []


def test_no_smtp_host_means_no_smtp_provider() -> None:
    assert smtp_client_from_settings(Settings(environment="test"), clock=ManualClock(START)) is None


def test_the_client_serves_email_as_smtp_with_no_receipts(certificate: Certificate) -> None:
    client = client_for(2525, certificate)
    assert (client.name, client.notification_type, client.has_delivery_receipts) == ("smtp", "email", False)
    asyncio.run(client.close())
