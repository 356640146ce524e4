"""Receipt bodies become Receipt values, or a 400 message naming the field; phone numbers never survive."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

import orjson
import pytest

from clarion.receipts.parse import MalformedReceipt, Receipt, parse_firetext, parse_mmg, parse_ses
from tests.unit.receipts.conftest import ses_message

NOTIFICATION_ID = str(uuid.uuid4())


def mmg_body(**fields: object) -> bytes:
    body = {"reqType": "DLR", "status": "3", "substatus": "5", "CID": NOTIFICATION_ID, "MSISDN": "447700900123",
            "reference": "mmg-own-id", "deliverytime": "2026-01-05 09:00:05", **fields}
    return orjson.dumps({name: value for name, value in body.items() if value is not None})


def firetext_body(**fields: str | None) -> bytes:
    form = {"status": "0", "reference": NOTIFICATION_ID, "code": "000", "time": "2026-01-05 09:00:05",
            "mobile": "447700900123", **fields}
    return urlencode({name: value for name, value in form.items() if value is not None}).encode()


def test_an_mmg_receipt_keeps_status_reason_and_id_but_not_the_number() -> None:
    receipt = parse_mmg(mmg_body(status="2", substatus="1"))
    assert receipt == Receipt(provider="mmg", reference=NOTIFICATION_ID, status="permanent-failure",
                              reason="Number does not exist", code="1")
    assert b"447700900123" not in orjson.dumps(receipt.to_message())


def test_mmg_numbers_sent_as_json_numbers_are_read_as_codes() -> None:
    assert parse_mmg(mmg_body(status=4, substatus=6)).reason == "Absent Subscriber"


@pytest.mark.parametrize(("body", "message"), [
    (mmg_body(status=None), "MMG callback failed: status missing"),
    (mmg_body(status=""), "MMG callback failed: status missing"),
    (mmg_body(CID=None), "MMG callback failed: CID missing"),
    (mmg_body(CID="12345"), "MMG callback failed: CID '12345' is not a notification id"),
    (mmg_body(status="9"), "MMG callback failed: status '9' is not an MMG status (2, 3, 4, 5)"),
    (mmg_body(status=["3"]), "MMG callback failed: status must be a string"),
    (b"status=3", "MMG callback failed: the body is not JSON"),
    (b"[]", "MMG callback failed: the body must be a JSON object"),
])
def test_a_malformed_mmg_receipt_says_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(MalformedReceipt) as refused:
        parse_mmg(body)
    assert str(refused.value) == message


def test_a_firetext_receipt_keeps_its_code_for_refinement() -> None:
    receipt = parse_firetext(firetext_body(status="1", code="102"))
    assert receipt == Receipt(provider="firetext", reference=NOTIFICATION_ID, status="permanent-failure",
                              reason="Absent Subscriber", code="102")
    assert parse_firetext(firetext_body(status="2", code=None)).status == "pending"


@pytest.mark.parametrize(("body", "message"), [
    (firetext_body(status=None), "Firetext callback failed: status missing"),
    (firetext_body(reference=None), "Firetext callback failed: reference missing"),
    (b"", "Firetext callback failed: status missing"),
    (firetext_body(status="7"), "Firetext callback failed: status '7' is not a Firetext status (0, 1, 2)"),
    (b"status=0&reference=\xff", "Firetext callback failed: the body is not UTF-8 form data"),
])
def test_a_malformed_firetext_receipt_says_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(MalformedReceipt) as refused:
        parse_firetext(body)
    assert str(refused.value) == message


def test_an_ses_delivery_bounce_and_complaint_become_receipts_without_addresses() -> None:
    mail_time = datetime(2026, 1, 5, 8, 59, 59, tzinfo=UTC)
    delivery = parse_ses(orjson.dumps(ses_message("Delivery", "ses-1")).decode())
    assert delivery == Receipt(provider="ses", reference="ses-1", status="delivered", mail_time=mail_time)
    bounce = parse_ses(orjson.dumps(ses_message("Bounce", "ses-2", bounce={
        "bounceType": "Permanent", "bounceSubType": "General", "timestamp": "2026-01-05T09:00:01.000Z",
        "bouncedRecipients": [{"emailAddress": "someone@example.com"}]})).decode())
    assert (bounce.status, bounce.reason, bounce.code) == ("permanent-failure", "Hard bounced", "Permanent")
    complaint = parse_ses(orjson.dumps(ses_message("Complaint", "ses-3", complaint={
        "complainedRecipients": [{"emailAddress": "someone@example.com"}], "timestamp": "2026-01-05T10:00:00Z",
        "feedbackId": "feedback-1", "complaintFeedbackType": "abuse"})).decode())
    assert (complaint.status, complaint.event, complaint.feedback_id, complaint.complaint_type,
            complaint.complaint_time) == (None, "complaint", "feedback-1", "abuse",
                                          datetime(2026, 1, 5, 10, tzinfo=UTC))
    for receipt in (delivery, bounce, complaint):
        assert b"someone@example.com" not in orjson.dumps(receipt.to_message())


@pytest.mark.parametrize(("message", "error"), [
    ({"mail": {"messageId": "x", "timestamp": "2026-01-05T09:00:00Z"}}, "SES callback failed: notificationType missing"),
    ({"notificationType": "Delivery"}, "SES callback failed: mail missing"),
    ({"notificationType": "Delivery", "mail": {"timestamp": "2026-01-05T09:00:00Z"}},
     "SES callback failed: mail.messageId missing"),
    ({"notificationType": "Delivery", "mail": {"messageId": "x", "timestamp": "yesterday"}},
     "SES callback failed: mail.timestamp 'yesterday' is not an ISO 8601 time"),
    ({"notificationType": "Bounce", "mail": {"messageId": "x", "timestamp": "2026-01-05T09:00:00Z"}, "bounce": {}},
     "SES callback failed: bounce.bounceType missing"),
    ({"notificationType": "Open", "mail": {"messageId": "x", "timestamp": "2026-01-05T09:00:00Z"}},
     "SES callback failed: notificationType 'Open' is not Delivery, Bounce or Complaint"),
])
def test_a_malformed_ses_event_says_what_is_wrong(message: dict, error: str) -> None:
    with pytest.raises(MalformedReceipt) as refused:
        parse_ses(orjson.dumps(message).decode())
    assert str(refused.value) == error


def test_an_ses_message_that_is_not_json_is_refused() -> None:
    with pytest.raises(MalformedReceipt, match="SES callback failed: the body is not JSON"):
        parse_ses("Successfully validated SNS topic")


def test_a_receipt_survives_the_queue_message_round_trip() -> None:
    receipt = parse_ses(orjson.dumps(ses_message("Complaint", "ses-3", complaint={"feedbackId": "f"})).decode())
    message = orjson.loads(orjson.dumps(receipt.to_message()))
    assert Receipt.from_message(message) == receipt


@pytest.mark.parametrize("message", [
    {"provider": "mmg", "reference": "not-a-uuid", "status": "delivered"},
    {"provider": "carrier-pigeon", "reference": NOTIFICATION_ID, "status": "delivered"},
    {"reference": NOTIFICATION_ID},
])
def test_a_queue_message_that_is_not_a_receipt_is_refused(message: dict) -> None:
    with pytest.raises((ValueError, KeyError)):
        Receipt.from_message(message)


@pytest.mark.parametrize("outcome", ["delivered", "permanent-failure", "temporary-failure"])
def test_the_sandboxs_sms_receipts_parse_to_the_outcome_it_meant(outcome: str) -> None:
    # The sandbox and these parsers are written apart on purpose; this checks they agree.
    from clarion.sandbox.firetext import firetext_receipt_body
    from clarion.sandbox.mmg import mmg_receipt_body
    from clarion.sandbox.outcomes import Outcome

    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    mmg = parse_mmg(mmg_receipt_body(cid=NOTIFICATION_ID, msisdn="447700900123", reference=300_000_001,
                                     outcome=Outcome(outcome), delivered_at=at))
    firetext = parse_firetext(firetext_receipt_body(reference=NOTIFICATION_ID, mobile="447700900123",
                                                    outcome=Outcome(outcome), delivered_at=at))
    assert mmg.status == outcome and mmg.reference == NOTIFICATION_ID
    assert firetext.reference == NOTIFICATION_ID
    # Firetext reports every failure as status 1; its code says which kind (applied by the worker)
    assert (firetext.status, firetext.code) == {"delivered": ("delivered", "000"),
                                                "permanent-failure": ("permanent-failure", "101"),
                                                "temporary-failure": ("permanent-failure", "102")}[outcome]


def ses_event(**sections: object) -> str:
    return orjson.dumps(ses_message("Complaint", "ses-4", **sections)).decode()


@pytest.mark.parametrize(("message", "error"), [
    (orjson.dumps(ses_message("Delivery", "m" * 256)).decode(),
     "SES callback failed: mail.messageId is longer than 255 characters"),
    (orjson.dumps(ses_message("Delivery", "ses\x00id")).decode(),
     "SES callback failed: mail.messageId contains a NUL character"),
    (ses_event(complaint={"feedbackId": "f" * 256}),
     "SES callback failed: complaint.feedbackId is longer than 255 characters"),
    (ses_event(complaint={"feedbackId": "feed\x00back"}),
     "SES callback failed: complaint.feedbackId contains a NUL character"),
    (orjson.dumps(ses_message("Delivery", "ses-5", mail_time="0001-01-01T00:00:00+01:00")).decode(),
     "SES callback failed: mail.timestamp '0001-01-01T00:00:00+01:00' is not an ISO 8601 time"),
])
def test_an_ses_key_that_cannot_be_stored_is_refused_with_the_field_named(message: str, error: str) -> None:
    # The message id is looked up and the feedback id deduplicates complaints: cut down, either could match
    # the wrong row, so they are refused instead.
    with pytest.raises(MalformedReceipt) as refused:
        parse_ses(message)
    assert str(refused.value) == error


def test_ses_keys_as_long_as_their_columns_are_accepted() -> None:
    receipt = parse_ses(orjson.dumps(ses_message("Complaint", "m" * 255, complaint={"feedbackId": "f" * 255}))
                        .decode())
    assert (receipt.reference, receipt.feedback_id) == ("m" * 255, "f" * 255)


def test_an_overlong_complaint_type_is_cut_to_its_column_and_loses_nul_characters() -> None:
    receipt = parse_ses(ses_event(complaint={"feedbackId": "f-1", "complaintFeedbackType": "ab\x00use" + "x" * 300}))
    assert receipt.complaint_type == ("abuse" + "x" * 300)[:255]


def test_an_overlong_provider_code_is_cut_down_and_still_read_as_unknown() -> None:
    # Cut to 32 characters, "101..." can never become Firetext's 3-character code 101.
    firetext = parse_firetext(firetext_body(status="1", code="101" + "9" * 500))
    assert (firetext.status, firetext.reason, firetext.code) == ("permanent-failure", None, ("101" + "9" * 500)[:32])
    mmg = parse_mmg(mmg_body(status="2", substatus="1" * 500))
    assert (mmg.status, mmg.reason, mmg.code) == ("permanent-failure", None, "1" * 32)


@pytest.mark.parametrize(("change", "problem"), [
    ({"feedback_id": "f" * 256}, "feedback_id is longer than 255 characters"),
    ({"reference": "r" * 256}, "reference is longer than 255 characters"),
    ({"complaint_type": "abuse\x00"}, "complaint_type contains a NUL character"),
    ({"code": "c" * 33}, "code is longer than 32 characters"),
    ({"complaint_time": "2026-01-05T10:00:00"}, "complaint_time must be a time with its UTC offset"),
    ({"event": "bounce"}, "unknown event 'bounce'"),
])
def test_a_queue_message_whose_values_do_not_fit_is_refused(change: dict[str, str], problem: str) -> None:
    # e.g. queued by an older clarion that did not check: the worker drops it alone instead of failing its batch
    message = {"provider": "ses", "reference": "ses-6", "status": None, "event": "complaint",
               "mail_time": "2026-01-05T09:00:00+00:00", "feedback_id": "f-6", **change}
    with pytest.raises(MalformedReceipt) as refused:
        Receipt.from_message(message)
    assert str(refused.value) == f"not a receipt: {problem}"
