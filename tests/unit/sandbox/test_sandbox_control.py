"""Faults as clients see them, set through the control endpoint; the endpoint's validation and stats."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from clarion.sandbox import mmg
from tests.unit.sandbox.harness import Receiver, RunningSandbox
from tests.unit.sandbox.wire import firetext_fields, mmg_message, send_email, send_firetext, send_mmg


def a_text_to_mmg(sandbox: RunningSandbox) -> httpx.Response:
    return send_mmg(sandbox, mmg_message())


def a_text_to_firetext(sandbox: RunningSandbox) -> httpx.Response:
    return send_firetext(sandbox, firetext_fields())


@pytest.mark.parametrize(("changes", "status"), [
    ({"error_rate": 1}, 500),
    ({"throttle_rate": 1}, 429),
    ({"down": True}, 503),
    ({"down": True, "error_rate": 1}, 503),
])
@pytest.mark.parametrize("send", [a_text_to_mmg, a_text_to_firetext])
def test_an_sms_provider_answers_with_the_fault_it_was_given(
        sandbox: RunningSandbox, send: Any, changes: dict[str, Any], status: int) -> None:
    provider = "mmg" if send is a_text_to_mmg else "firetext"
    sandbox.set_faults(provider, **changes)

    reply = send(sandbox)

    assert reply.status_code == status
    stats = sandbox.stats(provider)
    assert (stats["requests"], stats["faults_injected"], stats["accepted"], stats["receipts_scheduled"]) == (1, 1, 0, 0)


def test_a_fault_on_one_provider_leaves_the_others_alone(sandbox: RunningSandbox) -> None:
    sandbox.set_faults("mmg", down=True)

    assert a_text_to_firetext(sandbox).json()["code"] == 0


@pytest.mark.parametrize(("changes", "code", "status"), [
    ({"throttle_rate": 1}, "TooManyRequestsException", 429),
    ({"error_rate": 1}, "InternalFailure", 500),
    ({"down": True}, "ServiceUnavailable", 503),
])
def test_ses_faults_reach_boto3_as_client_errors_with_aws_codes(
        sandbox: RunningSandbox, changes: dict[str, Any], code: str, status: int) -> None:
    sandbox.set_faults("ses", **changes)

    with pytest.raises(ClientError) as refused:
        send_email(sandbox)

    assert refused.value.response["Error"]["Code"] == code
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_latency_is_added_before_the_answer(sandbox: RunningSandbox) -> None:
    waited: list[float] = []

    async def record_sleep(seconds: float) -> None:
        waited.append(seconds)

    sandbox.call(lambda: setattr(sandbox.state, "sleep", record_sleep))
    sandbox.set_faults("mmg", latency_ms=250)

    assert a_text_to_mmg(sandbox).status_code == 200
    assert waited == [0.25]


def test_a_timeout_fault_leaves_the_client_without_an_answer(sandbox: RunningSandbox) -> None:
    sandbox.set_faults("mmg", timeout_rate=1)

    with pytest.raises(httpx.ReadTimeout):
        sandbox.http.post(mmg.PATH, json=mmg_message(), headers={"Authorization": "Basic key"}, timeout=0.5)

    assert sandbox.stats("mmg")["faults_injected"] == 1


def test_a_request_hanging_on_a_timeout_fault_is_answered_when_the_sandbox_stops(sandbox: RunningSandbox) -> None:
    sandbox.set_faults("mmg", timeout_rate=1)
    with ThreadPoolExecutor(1) as pool:
        hanging = pool.submit(a_text_to_mmg, sandbox)
        sandbox.wait_for(lambda: sandbox.state.stats.of("mmg").faults_injected == 1)

        sandbox.stop()

        assert hanging.result().status_code == 504


def test_the_control_endpoint_answers_the_resulting_settings(sandbox: RunningSandbox) -> None:
    shown = sandbox.set_faults("firetext", error_rate=0.25, receipt_delay_s=12)

    assert shown == {"error_rate": 0.25, "throttle_rate": 0.0, "latency_ms": 0.0, "timeout_rate": 0.0,
                     "receipt_delay_s": 12.0, "fail_receipts": 0.0, "down": False}
    assert sandbox.http.get("/_sandbox/faults").json()["firetext"] == shown
    assert sandbox.http.get("/_sandbox/faults/firetext").json() == shown


@pytest.mark.parametrize(("body", "says"), [
    (b'{"error_rate": 2}', "error_rate must be between 0 and 1"),
    (b'{"latency_ms": -5}', "latency_ms must be between 0"),
    (b'{"down": 1}', "down must be true or false"),
    (b'{"speed": 3}', "unknown fault setting 'speed'"),
    (b"[]", "JSON object"),
    (b"nonsense", "JSON object"),
])
def test_the_control_endpoint_refuses_bad_settings_with_400_and_changes_nothing(
        sandbox: RunningSandbox, body: bytes, says: str) -> None:
    before = sandbox.http.get("/_sandbox/faults").json()

    reply = sandbox.http.post("/_sandbox/faults/mmg", content=body)

    assert reply.status_code == 400
    assert says in reply.json()["error"]
    assert sandbox.http.get("/_sandbox/faults").json() == before


def test_the_control_endpoint_answers_404_for_an_unknown_provider(sandbox: RunningSandbox) -> None:
    reply = sandbox.http.post("/_sandbox/faults/twilio", json={"down": True})

    assert reply.status_code == 404
    assert "known: mmg, firetext, ses, dvla, smtp" in reply.json()["error"]


def test_reset_turns_faults_off_and_counters_to_zero(sandbox: RunningSandbox) -> None:
    sandbox.set_faults("mmg", down=True)
    a_text_to_mmg(sandbox)

    assert sandbox.http.post("/_sandbox/reset").status_code == 200

    assert sandbox.stats("mmg")["requests"] == 0
    assert a_text_to_mmg(sandbox).status_code == 200


def test_stats_count_every_kind_of_answer(sandbox: RunningSandbox, receiver: Receiver) -> None:
    a_text_to_mmg(sandbox)                                      # accepted
    a_text_to_mmg(sandbox)                                      # duplicate
    send_mmg(sandbox, mmg_message(cid="other"), api_key=None)   # rejected: no Authorization
    sandbox.set_faults("mmg", error_rate=1)
    a_text_to_mmg(sandbox)                                      # fault
    sandbox.wait_until_receipts_done()

    stats = sandbox.http.get("/_sandbox/stats").json()
    assert stats["receipts_pending"] == 0
    assert stats["providers"]["mmg"] == {
        "requests": 4, "accepted": 1, "rejected": 1, "duplicates": 1, "faults_injected": 1,
        "receipts_scheduled": 1, "receipts_sent": 1, "receipts_retried": 0, "receipts_failed": 0}
    assert json.loads(receiver.next().body)["status"] == "3"


def test_the_certificate_is_served_as_pem(sandbox: RunningSandbox) -> None:
    reply = sandbox.http.get("/_sandbox/sns/certificate.pem")

    assert reply.status_code == 200
    assert reply.text.startswith("-----BEGIN CERTIFICATE-----")
