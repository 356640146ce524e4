"""SMTP relay email client, "smtp": a MIME message handed to a relay over pooled STARTTLS connections.

SMTP has no delivery receipts, so the relay's acceptance is the last clarion hears: the notification
goes straight to `sent` (`has_delivery_receipts = False`), and the reference is the Message-ID.

Connections are pooled: on loopback with STARTTLS and AUTH a fresh connection per email cost 4.4 ms
against 1.1 ms on a reused one, and over a network the difference is three more round trips plus a
TLS handshake. smtplib blocks, so sends run on this client's own threads, one per pooled connection.
A connection idle longer than `max_idle_s` is closed; one the relay dropped while idle is noticed
at MAIL FROM, before any of the message went out, and the email goes on a fresh connection.

How the relay's answers map onto `clarion.providers.errors`:

  5xx to RCPT TO or DATA: the recipient or content   -> PermanentProviderError
  452 (insufficient storage, too many recipients)    -> ProviderThrottled: the relay is up, come back later
  any other 4xx, including 421 and 451               -> ProviderUnavailable
  no reply within the timeout                        -> ProviderTimeout
  refused or dropped connection, TLS failure         -> ProviderUnavailable
  5xx while connecting or to MAIL FROM, 535 (bad credentials), no STARTTLS offered
                                                     -> ProviderUnavailable

That last row is configuration, wrong for every email alike: failing each one for good would lose
all email until someone noticed, while a fault against "smtp" moves email to the other provider and
the notifications wait in the retry queue until the relay or its settings are fixed. Details carry
the stage and reply code, never the relay's text: it often quotes the address.
"""

from __future__ import annotations

import asyncio
import email.message
import email.policy
import email.utils
import re
import smtplib
import ssl
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from clarion.clock import Clock
from clarion.config import Settings
from clarion.providers.base import EmailClient, EmailMessage
from clarion.providers.email.addresses import UnencodableAddress, domain_of, idna_address, mailbox_header
from clarion.providers.errors import (
    PermanentProviderError,
    ProviderError,
    ProviderThrottled,
    ProviderTimeout,
    ProviderUnavailable,
)
from clarion.providers.metrics import NO_METRICS, ProviderMetrics

__all__ = ["MimeEmail", "SmtpClient", "SmtpRelay", "mime_email", "smtp_client_from_settings"]

# Bodies are encoded to 7-bit (quoted-printable/base64, 76-character lines) so a relay without
# 8BITMIME takes them; headers are written unfolded up to RFC 5322's 998 characters, because folding
# a long List-Unsubscribe URL at 78 would turn it into encoded words that mail clients do not read.
_BUILD_POLICY = email.policy.SMTP.clone(cte_type="7bit")
_WRITE_POLICY = _BUILD_POLICY.clone(max_line_length=998)
_MESSAGE_ID_LOCAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ENHANCED_STATUS = re.compile(rb"^\s*([245]\.\d{1,3}\.\d{1,3})")
_CONFIG_HINTS = {530: "the relay wants authentication: set SMTP_USERNAME and SMTP_PASSWORD",
                 535: "the relay refused the credentials: check SMTP_USERNAME and SMTP_PASSWORD"}


@dataclass(frozen=True)
class SmtpRelay:
    """Where and how to reach the relay."""

    host: str
    port: int
    starttls: bool
    username: str | None
    password: str | None = field(repr=False)
    timeout_s: float
    tls_context: ssl.SSLContext = field(repr=False, compare=False)


@dataclass(frozen=True)
class MimeEmail:
    """One email ready for the relay: the envelope, the message bytes and its Message-ID."""

    sender: str
    recipient: str
    data: bytes
    message_id: str  # without the angle brackets; the reference clarion stores


def mime_email(message: EmailMessage, *, now: datetime) -> MimeEmail:
    """The multipart/alternative message (text, then HTML) with Notify's headers, addresses IDNA-encoded."""
    sender = idna_address(email.utils.parseaddr(message.from_address)[1])
    recipient = idna_address(message.to_address)
    message_id = _message_id(message.reference, domain_of(message.from_address))
    mime = email.message.EmailMessage(policy=_BUILD_POLICY)
    mime["From"] = mailbox_header(message.from_address)
    mime["To"] = recipient
    mime["Subject"] = message.subject
    mime["Date"] = email.utils.format_datetime(now)
    mime["Message-ID"] = message_id
    if message.reply_to_address:
        mime["Reply-To"] = idna_address(message.reply_to_address)
    for header in message.headers:
        mime[header["Name"]] = header["Value"]
    mime.set_content(message.body)
    mime.add_alternative(message.html_body, subtype="html")
    return MimeEmail(sender=sender, recipient=recipient,
                     data=mime.as_bytes(policy=_WRITE_POLICY), message_id=message_id.strip("<>"))


def _message_id(reference: str, domain: str) -> str:
    # The notification id makes a retry after an unanswered DATA carry the same Message-ID, which
    # lets the receiving side drop the duplicate if the first attempt did get through.
    if _MESSAGE_ID_LOCAL.match(reference):
        return f"<{reference}@{domain}>"
    return email.utils.make_msgid(domain=domain)


class _StageFailed(Exception):
    """smtplib or the socket failed during one stage of a delivery."""

    def __init__(self, stage: str, reason: BaseException) -> None:
        super().__init__(stage)
        self.stage, self.reason = stage, reason

    @property
    def relay_dropped_idle_connection(self) -> bool:
        """True when a reused connection turned out closed before anything of the email was sent."""
        if self.stage != "mail" or _timed_out(self.reason):
            return False
        if isinstance(self.reason, smtplib.SMTPResponseException):
            return self.reason.smtp_code == 421  # what a relay says when it closes an idle connection
        return isinstance(self.reason, (smtplib.SMTPServerDisconnected, OSError))


def _timed_out(error: BaseException) -> bool:
    # smtplib turns a socket timeout into SMTPServerDisconnected; the timeout stays as its context.
    return isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError)


@contextmanager
def _stage(name: str) -> Iterator[None]:
    try:
        yield
    except (smtplib.SMTPException, OSError) as error:
        raise _StageFailed(name, error) from error


def _expect(reply: tuple[int, bytes], accepted: set[int]) -> None:
    code, text = reply
    if code not in accepted:
        raise smtplib.SMTPResponseException(code, text)


def open_connection(relay: SmtpRelay) -> smtplib.SMTP:
    """A connection that has greeted the relay, started TLS if asked and logged in if configured."""
    with _stage("connect"):
        connection = smtplib.SMTP(relay.host, relay.port, timeout=relay.timeout_s)
        try:
            connection.ehlo()
            if relay.starttls:  # never falls back to clear text: no STARTTLS offered is an error
                connection.starttls(context=relay.tls_context)
                connection.ehlo()
            if relay.username:
                connection.login(relay.username, relay.password or "")
        except BaseException:
            connection.close()
            raise
    return connection


def _transact(connection: smtplib.SMTP, mime: MimeEmail) -> None:
    with _stage("mail"):
        _expect(connection.mail(mime.sender), {250})
    with _stage("rcpt"):
        _expect(connection.rcpt(mime.recipient), {250, 251})
    with _stage("data"):
        _expect(connection.data(mime.data), {250})  # smtplib raises only when DATA itself is refused


class _ConnectionPool:
    """Idle connections to the relay, oldest on the left; those idle longer than max_idle_s are closed."""

    def __init__(self, relay: SmtpRelay, *, clock: Clock, max_idle_s: float) -> None:
        self.relay, self._clock, self._max_idle_s = relay, clock, max_idle_s
        self._idle: deque[tuple[smtplib.SMTP, float]] = deque()
        self._lock = threading.Lock()

    def take(self) -> smtplib.SMTP | None:
        """The most recently used idle connection, or None."""
        expired = []
        with self._lock:
            now = self._clock.monotonic()
            while self._idle and now - self._idle[0][1] > self._max_idle_s:
                expired.append(self._idle.popleft()[0])
            connection = self._idle.pop()[0] if self._idle else None
        for old in expired:
            _close_quietly(old)
        return connection

    def give_back(self, connection: smtplib.SMTP) -> None:
        """Keep a connection that just delivered an email for the next one."""
        with self._lock:
            self._idle.append((connection, self._clock.monotonic()))

    def close_all(self) -> None:
        """Say QUIT on every idle connection."""
        with self._lock:
            idle, self._idle = list(self._idle), deque()
        for connection, _ in idle:
            _close_quietly(connection)


def _close_quietly(connection: smtplib.SMTP) -> None:
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()


class SmtpClient(EmailClient):
    """Hands email to an SMTP relay; its acceptance is final (there are no receipts)."""

    name = "smtp"
    has_delivery_receipts = False  # the relay's acceptance is final: the notification becomes `sent`

    def __init__(self, *, relay: SmtpRelay, connections: int = 10, max_idle_s: float = 30.0,
                 **base: Any) -> None:
        super().__init__(**base)
        self.relay = relay
        self._pool = _ConnectionPool(relay, clock=self.clock, max_idle_s=max_idle_s)
        self._threads = ThreadPoolExecutor(max_workers=connections, thread_name_prefix="smtp")

    async def try_send_email(self, message: EmailMessage) -> str:
        """Deliver to the relay; returns the Message-ID (without angle brackets)."""
        try:
            mime = mime_email(message, now=self.clock.now())
        except UnencodableAddress as error:
            raise PermanentProviderError(self.name, f"address not accepted: {error}") from error
        except ValueError as error:  # e.g. a line break in the subject or a duplicated header
            raise PermanentProviderError(self.name, f"message cannot be written as MIME: {error}") from error
        await asyncio.get_running_loop().run_in_executor(self._threads, self._deliver, mime)
        return mime.message_id

    def _deliver(self, mime: MimeEmail) -> None:
        try:
            connection = self._pool.take()
            if connection is not None:
                try:
                    self._deliver_on(connection, mime)
                    return
                except _StageFailed as failure:
                    if not failure.relay_dropped_idle_connection:
                        raise
            self._deliver_on(open_connection(self.relay), mime)
        except _StageFailed as failure:
            raise self.provider_error(failure.stage, failure.reason) from failure.reason

    def _deliver_on(self, connection: smtplib.SMTP, mime: MimeEmail) -> None:
        try:
            _transact(connection, mime)
        except _StageFailed:
            connection.close()  # its state is unknown after a failure; never reuse it
            raise
        self._pool.give_back(connection)

    def provider_error(self, stage: str, reason: BaseException) -> ProviderError:
        """The clarion category for a failure at a stage; see the module docstring for the table."""
        if isinstance(reason, smtplib.SMTPResponseException):
            return self._for_reply(stage, reason.smtp_code, reason.smtp_error)
        if _timed_out(reason):
            return ProviderTimeout(self.name, f"no reply from the relay within {self.relay.timeout_s}s ({stage})")
        if isinstance(reason, smtplib.SMTPNotSupportedError):
            return ProviderUnavailable(self.name, f"the relay does not offer what is configured ({stage}): "
                                                  "STARTTLS (SMTP_STARTTLS) or AUTH (SMTP_USERNAME)")
        if isinstance(reason, ssl.SSLError):
            return ProviderUnavailable(self.name, f"TLS with the relay failed: {reason.reason or 'handshake'}")
        return ProviderUnavailable(self.name, f"{stage}: {type(reason).__name__}")

    def _for_reply(self, stage: str, code: int, text: bytes | str) -> ProviderError:
        raw = text.encode(errors="replace") if isinstance(text, str) else text
        enhanced = _ENHANCED_STATUS.match(raw)
        detail = f"the relay answered {code}{' ' + enhanced.group(1).decode() if enhanced else ''} ({stage})"
        if code in _CONFIG_HINTS:
            detail += f"; {_CONFIG_HINTS[code]}"
        if 500 <= code < 600 and stage in ("rcpt", "data"):
            return PermanentProviderError(self.name, detail)
        if code == 452:
            return ProviderThrottled(self.name, detail)
        return ProviderUnavailable(self.name, detail)

    async def close(self) -> None:
        """QUIT the pooled connections and let the threads finish."""
        await asyncio.get_running_loop().run_in_executor(None, self._pool.close_all)
        self._threads.shutdown(wait=False)


def smtp_client_from_settings(settings: Settings, *, clock: Clock, metrics: ProviderMetrics = NO_METRICS
                              ) -> SmtpClient | None:
    """The "smtp" client when SMTP_HOST is set; None otherwise."""
    if not settings.smtp_host:
        return None
    # Certificates are always verified: against SMTP_CA_FILE when set, else the system's CAs.
    tls_context = ssl.create_default_context(cafile=settings.smtp_ca_file)
    relay = SmtpRelay(host=settings.smtp_host, port=settings.smtp_port, starttls=settings.smtp_starttls,
                      username=settings.smtp_username,
                      password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                      timeout_s=settings.provider_timeout_s, tls_context=tls_context)
    return SmtpClient(relay=relay, connections=settings.smtp_connections, clock=clock, metrics=metrics)
