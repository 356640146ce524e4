"""Simulated SMTP relay (aiosmtpd) on SANDBOX_SMTP_PORT, served on the sandbox's own event loop.

AUTH PLAIN/LOGIN is offered without TLS and any credentials pass (a loopback test relay); STARTTLS
is not offered. Faults apply when a message starts (MAIL FROM): down -> 421, throttle -> 454,
error -> 451, timeout -> no answer until the client gives up; latency delays that answer.
Recipients decide the rest at RCPT TO: perm-fail@simulator.notify -> 550, temp-fail@simulator.notify
-> 451, anyone else is accepted. SMTP has no delivery receipts, so receipt faults do not apply.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from clarion.logs import redact_recipient
from clarion.sandbox.faults import Fault
from clarion.sandbox.gate import pass_gate
from clarion.sandbox.outcomes import Outcome, email_outcome
from clarion.sandbox.state import SandboxState

__all__ = ["NAME", "SmtpSink", "smtp_protocol_factory"]

logger = logging.getLogger(__name__)

NAME = "smtp"
HOSTNAME = "smtp.sandbox.clarion.local"  # set, so aiosmtpd does not look up this machine's name
FAULT_REPLIES = {
    Fault.DOWN: "421 4.3.2 Service not available, closing transmission channel",
    Fault.TIMEOUT: "451 4.4.2 Timeout while processing",
    Fault.THROTTLE: "454 4.7.0 Throttling failure: maximum sending rate exceeded",
    Fault.ERROR: "451 4.3.0 Local error in processing",
}
RECIPIENT_REPLIES = {
    Outcome.PERMANENT_FAILURE: "550 5.1.1 Recipient address rejected: mailbox unavailable",
    Outcome.TEMPORARY_FAILURE: "451 4.2.0 Mailbox temporarily unavailable, try again later",
}


class SmtpSink:
    """aiosmtpd handler: accepts mail for anyone except the failing test addresses, and stores nothing."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:
        """A new message: the fault gate answers first."""
        fault = await pass_gate(self._state, NAME)
        if fault is not None:
            return FAULT_REPLIES[fault]
        envelope.mail_from, envelope.mail_options = address, list(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        """Refuse the failing test addresses, accept anyone else."""
        refusal = RECIPIENT_REPLIES.get(email_outcome(address))
        if refusal is not None:
            self._state.stats.of(NAME).rejected += 1
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Accept the message (and forget it)."""
        self._state.stats.of(NAME).accepted += 1
        logger.debug("smtp accepted a message", extra={
            "provider_name": NAME, "recipients": [redact_recipient(r) for r in envelope.rcpt_tos],
            "bytes": len(envelope.original_content or b"")})
        return "250 2.0.0 Message accepted for delivery"


def accept_any_login(server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
    """Every AUTH succeeds: the sandbox only checks that a client can log in."""
    return AuthResult(success=True)


def smtp_protocol_factory(state: SandboxState, loop: asyncio.AbstractEventLoop) -> SMTP:
    """One aiosmtpd protocol for a new connection (for loop.create_server)."""
    return SMTP(SmtpSink(state), hostname=HOSTNAME, ident="clarion sandbox ESMTP", auth_require_tls=False,
                authenticator=accept_any_login, loop=loop)
