"""Simulated Firetext over loopback: its form API, its coded refusals, its form receipts, duplicates."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.unit.sandbox.harness import FIRETEXT_PASSWORD, Receiver, RunningSandbox, basic_auth
from tests.unit.sandbox.wire import FIRETEXT_NOTIFICATION_ID, firetext_fields, send_firetext


def form_of(body: bytes) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(body.decode(), keep_blank_values=True).items()}


def test_a_message_is_queued_with_code_0(sandbox: RunningSandbox) -> None:
    reply = send_firetext(sandbox, firetext_fields())

    assert reply.status_code == 200
    assert reply.json() == {"code": 0, "description": "SMS successfully queued"}


def test_the_receipt_is_a_form_posted_to_the_receipt_url_with_its_credentials(
        sandbox: RunningSandbox, receiver: Receiver) -> None:
    receipt_url = receiver.url.replace("http://", "http://notify:pa%3Ass@") + "/notifications/sms/firetext"

    send_firetext(sandbox, firetext_fields(receipt=receipt_url))

    receipt = receiver.next()
    assert receipt.path == "/notifications/sms/firetext"
    assert receipt.headers["authorization"] == basic_auth("notify", "pa:ss")
    assert receipt.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form_of(receipt.body) == {"status": "0", "reference": FIRETEXT_NOTIFICATION_ID, "code": "000",
                                     "time": "2026-01-05 09:00:00", "mobile": "447700900123"}


def test_without_a_receipt_url_the_receipt_goes_to_clarions_firetext_endpoint(
        sandbox: RunningSandbox, receiver: Receiver) -> None:
    send_firetext(sandbox, firetext_fields())

    receipt = receiver.next()
    assert receipt.path == "/notifications/sms/firetext"
    assert receipt.headers["authorization"] == basic_auth("notify", FIRETEXT_PASSWORD)


@pytest.mark.parametrize(("number", "status", "code"), [
    ("447700900002", "1", "101"),  # unknown subscriber: permanent failure
    ("447700900003", "1", "102"),  # absent subscriber: temporary failure
    ("447700900789", "0", "000"),  # delivered
])
def test_the_receipt_reports_the_outcome_of_notifys_test_numbers(
        sandbox: RunningSandbox, receiver: Receiver, number: str, status: str, code: str) -> None:
    send_firetext(sandbox, firetext_fields(to=number))

    receipt = form_of(receiver.next().body)
    assert (receipt["mobile"], receipt["status"], receipt["code"]) == (number, status, code)


def test_the_same_reference_again_is_acknowledged_and_gets_no_second_receipt(
        sandbox: RunningSandbox, receiver: Receiver) -> None:
    send_firetext(sandbox, firetext_fields())
    again = send_firetext(sandbox, firetext_fields(message="Hello again"))

    assert again.json()["code"] == 0
    sandbox.wait_until_receipts_done()
    assert len(receiver.all_received()) == 1
    stats = sandbox.stats("firetext")
    assert (stats["accepted"], stats["duplicates"], stats["receipts_sent"]) == (1, 1, 1)


@pytest.mark.parametrize(("form", "code", "says"), [
    (firetext_fields(apiKey=None), 1, "Authentication"),
    (firetext_fields(apiKey=" "), 1, "Authentication"),
    (firetext_fields(to="+447700900123"), 2, "Destination"),
    (firetext_fields(to=None), 2, "Destination"),
    (firetext_fields(**{"from": ""}), 3, "From"),
    (firetext_fields(message=""), 5, "Message"),
    (firetext_fields(reference=None), 9, "Reference"),
    (firetext_fields(receipt="not a url"), 10, "Receipt"),
])
def test_a_refused_message_gets_http_200_with_firetexts_error_code(
        sandbox: RunningSandbox, form: dict[str, Any], code: int, says: str) -> None:
    reply = send_firetext(sandbox, form)

    assert reply.status_code == 200
    assert reply.json()["code"] == code
    assert says in reply.json()["description"]
    stats = sandbox.stats("firetext")
    assert (stats["rejected"], stats["accepted"], stats["receipts_scheduled"]) == (1, 0, 0)


def test_fail_receipts_turns_a_delivery_into_an_absent_subscriber(
        sandbox: RunningSandbox, receiver: Receiver) -> None:
    sandbox.set_faults("firetext", fail_receipts=1)
    send_firetext(sandbox, firetext_fields())

    receipt = form_of(receiver.next().body)
    assert (receipt["status"], receipt["code"]) == ("1", "102")
