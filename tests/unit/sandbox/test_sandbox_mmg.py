"""Simulated MMG over loopback: its JSON API, its refusals, its receipts and duplicate protection."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.sandbox.harness import MMG_PASSWORD, Receiver, RunningSandbox, basic_auth
from tests.unit.sandbox.wire import MMG_NOTIFICATION_ID, mmg_message, send_mmg


def test_a_message_is_answered_with_an_integer_reference(sandbox: RunningSandbox) -> None:
    reply = send_mmg(sandbox, mmg_message())

    assert reply.status_code == 200
    assert isinstance(reply.json()["Reference"], int)
    assert sandbox.stats("mmg")["accepted"] == 1


def test_the_receipt_goes_to_the_delurl_with_its_credentials_as_basic_auth(
        sandbox: RunningSandbox, receiver: Receiver) -> None:
    delurl = receiver.url.replace("http://", "http://notify:s%40cret@") + "/notifications/sms/mmg"

    reference = send_mmg(sandbox, mmg_message(delurl=delurl)).json()["Reference"]

    receipt = receiver.next()
    assert receipt.path == "/notifications/sms/mmg"
    assert receipt.headers["authorization"] == basic_auth("notify", "s@cret")
    assert receipt.headers["content-type"] == "application/json"
    # The sandbox's ManualClock reads 2026-01-05 09:00 UTC, which is 09:00 in London in winter.
    assert json.loads(receipt.body) == {"reference": str(reference), "CID": MMG_NOTIFICATION_ID,
                                        "MSISDN": "447700900123", "status": "3", "substatus": "5",
                                        "deliverytime": "2026-01-05 09:00:00"}


def test_without_a_delurl_the_receipt_goes_to_clarions_mmg_endpoint_with_the_receipt_password(
        sandbox: RunningSandbox, receiver: Receiver) -> None:
    send_mmg(sandbox, mmg_message())

    receipt = receiver.next()
    assert receipt.path == "/notifications/sms/mmg"
    assert receipt.headers["authorization"] == basic_auth("notify", MMG_PASSWORD)


@pytest.mark.parametrize(("number", "status", "substatus"), [
    ("447700900002", "2", "1"),  # permanent failure: number does not exist
    ("447700900003", "4", "6"),  # temporary failure: absent subscriber
    ("447700900456", "3", "5"),  # delivered to handset
])
def test_the_receipt_reports_the_outcome_of_notifys_test_numbers(
        sandbox: RunningSandbox, receiver: Receiver, number: str, status: str, substatus: str) -> None:
    send_mmg(sandbox, mmg_message(MSISDN=number))

    receipt = json.loads(receiver.next().body)
    assert (receipt["MSISDN"], receipt["status"], receipt["substatus"]) == (number, status, substatus)


def test_the_receipt_waits_for_the_receipt_delay(start_sandbox: Any, receiver: Receiver, clock: Any) -> None:
    sandbox = start_sandbox(receipt_delay_s=5.0)
    send_mmg(sandbox, mmg_message())

    assert sandbox.call(sandbox.state.receipts.run_due) == 0
    clock.advance(seconds=4.9)
    assert sandbox.call(sandbox.state.receipts.run_due) == 0
    clock.advance(seconds=0.1)
    assert sandbox.call(sandbox.state.receipts.run_due) == 1
    assert json.loads(receiver.next().body)["deliverytime"] == "2026-01-05 09:00:05"


def test_the_same_cid_again_is_acknowledged_with_the_same_reference_and_gets_no_second_receipt(
        sandbox: RunningSandbox, receiver: Receiver) -> None:
    first = send_mmg(sandbox, mmg_message()).json()
    again = send_mmg(sandbox, mmg_message())

    assert again.status_code == 200
    assert again.json() == first
    sandbox.wait_until_receipts_done()
    assert len(receiver.all_received()) == 1
    stats = sandbox.stats("mmg")
    assert (stats["requests"], stats["accepted"], stats["duplicates"], stats["receipts_sent"]) == (2, 1, 1, 1)


def test_a_request_without_authorization_is_refused_with_401(sandbox: RunningSandbox) -> None:
    reply = send_mmg(sandbox, mmg_message(), api_key=None)

    assert reply.status_code == 401
    assert reply.json()["Error"] == 401
    assert sandbox.stats("mmg")["rejected"] == 1


@pytest.mark.parametrize(("body", "says"), [
    (b"not json", "Invalid JSON"),
    ([1, 2], "JSON object"),
    (mmg_message(reqType="SINGLE"), "reqType"),
    (mmg_message(MSISDN="+447700900123"), "MSISDN"),
    (mmg_message(MSISDN="07700 900123"), "MSISDN"),
    (mmg_message(msg=""), "msg"),
    (mmg_message(sender=None), "sender"),
    (mmg_message(cid=""), "cid"),
    (mmg_message(delurl="ftp://example.invalid/receipts"), "delurl"),
    (mmg_message(delurl=5), "delurl"),
])
def test_a_malformed_request_is_refused_with_400_and_a_description(
        sandbox: RunningSandbox, receiver: Receiver, body: Any, says: str) -> None:
    reply = send_mmg(sandbox, body)

    assert reply.status_code == 400
    assert says in reply.json()["Description"]
    stats = sandbox.stats("mmg")
    assert (stats["rejected"], stats["accepted"], stats["receipts_scheduled"]) == (1, 0, 0)


def test_fail_receipts_turns_a_delivery_into_an_absent_subscriber(
        sandbox: RunningSandbox, receiver: Receiver) -> None:
    sandbox.set_faults("mmg", fail_receipts=1)
    send_mmg(sandbox, mmg_message())

    receipt = json.loads(receiver.next().body)
    assert (receipt["status"], receipt["substatus"]) == ("4", "6")
