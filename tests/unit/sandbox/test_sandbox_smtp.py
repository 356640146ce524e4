"""The simulated SMTP relay, driven by smtplib over loopback."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from tests.unit.sandbox.harness import RunningSandbox


def an_email(to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "service@notifications.clarion.local"
    message["To"] = to
    message["Subject"] = "Your reference"
    message.set_content("Hello")
    return message


def smtp_to(sandbox: RunningSandbox) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", sandbox.server.smtp_port, timeout=10)


def test_a_message_is_accepted_after_logging_in(sandbox: RunningSandbox) -> None:
    with smtp_to(sandbox) as client:
        client.login("clarion", "any-password")
        refused = client.send_message(an_email("someone@example.com"))

    assert refused == {}
    assert sandbox.stats("smtp")["accepted"] == 1


@pytest.mark.parametrize(("address", "code"), [
    ("perm-fail@simulator.notify", 550),
    ("temp-fail@simulator.notify", 451),
])
def test_notifys_failing_addresses_are_refused_at_rcpt(sandbox: RunningSandbox, address: str, code: int) -> None:
    with smtp_to(sandbox) as client, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        client.send_message(an_email(address))

    assert refused.value.recipients[address][0] == code
    stats = sandbox.stats("smtp")
    assert (stats["rejected"], stats["accepted"]) == (1, 0)


@pytest.mark.parametrize(("changes", "code"), [
    ({"down": True}, 421),
    ({"throttle_rate": 1}, 454),
    ({"error_rate": 1}, 451),
])
def test_faults_refuse_the_message_at_mail_from(sandbox: RunningSandbox, changes: dict[str, object], code: int) -> None:
    sandbox.set_faults("smtp", **changes)

    with smtp_to(sandbox) as client, pytest.raises(smtplib.SMTPSenderRefused) as refused:
        client.send_message(an_email("someone@example.com"))

    assert refused.value.smtp_code == code
    assert sandbox.stats("smtp")["faults_injected"] == 1
