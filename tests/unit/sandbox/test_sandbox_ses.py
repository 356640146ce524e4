"""Simulated SES: boto3's sesv2 client against it, and its SES events as signed SNS notifications."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from clarion.sandbox import ses
from tests.unit.sandbox.harness import Captured, Receiver, RunningSandbox
from tests.unit.sandbox.wire import send_email

MESSAGE_ID = re.compile(r"0102[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-000000")


def sns_string_to_sign(message: dict[str, str]) -> bytes:
    """AWS's documented string to sign for a Notification, written out independently of the sandbox."""
    keys = ["Message", "MessageId"] + (["Subject"] if "Subject" in message else []) + ["Timestamp", "TopicArn", "Type"]
    return "".join(f"{key}\n{message[key]}\n" for key in keys).encode()


def verify_sns(envelope: dict[str, str]) -> None:
    """Check the signature with the certificate at SigningCertURL; raises InvalidSignature if it is wrong."""
    certificate = x509.load_pem_x509_certificate(httpx.get(envelope["SigningCertURL"]).content)
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}[envelope["SignatureVersion"]]
    certificate.public_key().verify(base64.b64decode(envelope["Signature"]), sns_string_to_sign(envelope),
                                    padding.PKCS1v15(), algorithm)


def ses_event_of(receipt: Captured) -> tuple[dict[str, str], dict[str, Any]]:
    envelope = json.loads(receipt.body)
    return envelope, json.loads(envelope["Message"])


def test_boto3_gets_an_ses_style_message_id(sandbox: RunningSandbox) -> None:
    assert MESSAGE_ID.fullmatch(send_email(sandbox))
    assert sandbox.stats("ses")["accepted"] == 1


def test_a_delivery_is_reported_as_an_sns_notification_to_clarions_ses_endpoint(
        sandbox: RunningSandbox, receiver: Receiver) -> None:
    message_id = send_email(sandbox)

    receipt = receiver.next()
    envelope, event = ses_event_of(receipt)
    assert receipt.path == "/notifications/email/ses"
    assert receipt.headers["x-amz-sns-message-type"] == "Notification"
    assert envelope["Type"] == "Notification"
    assert envelope["Timestamp"] == "2026-01-05T09:00:00.000Z"
    assert envelope["SigningCertURL"] == sandbox.url + "/_sandbox/sns/certificate.pem"
    assert event["notificationType"] == "Delivery"
    assert event["mail"]["messageId"] == message_id
    assert event["mail"]["destination"] == ["someone@example.com"]
    assert event["delivery"]["recipients"] == ["someone@example.com"]


@pytest.mark.parametrize("version", ["1", "2"])
def test_the_sns_signature_verifies_with_the_served_certificate(
        start_sandbox: Any, receiver: Receiver, version: str) -> None:
    sandbox = start_sandbox(sns_signature_version=version)
    send_email(sandbox)

    envelope, _ = ses_event_of(receiver.next())

    assert envelope["SignatureVersion"] == version
    verify_sns(envelope)
    with pytest.raises(InvalidSignature):
        verify_sns({**envelope, "Message": envelope["Message"].replace("Delivery", "Bounce")})


@pytest.mark.parametrize(("address", "bounce_type"), [
    ("perm-fail@simulator.notify", "Permanent"),
    ("temp-fail@simulator.notify", "Transient"),
])
def test_notifys_failing_addresses_bounce(
        sandbox: RunningSandbox, receiver: Receiver, address: str, bounce_type: str) -> None:
    message_id = send_email(sandbox, to=address)

    envelope, event = ses_event_of(receiver.next())
    verify_sns(envelope)
    assert event["notificationType"] == "Bounce"
    assert event["mail"]["messageId"] == message_id
    assert event["bounce"]["bounceType"] == bounce_type
    assert [r["emailAddress"] for r in event["bounce"]["bouncedRecipients"]] == [address]


def test_a_complaint_follows_the_delivery(sandbox: RunningSandbox, receiver: Receiver) -> None:
    message_id = send_email(sandbox, to="complaint@simulator.notify")

    first, second = (ses_event_of(receiver.next()) for _ in range(2))
    assert [first[1]["notificationType"], second[1]["notificationType"]] == ["Delivery", "Complaint"]
    assert second[1]["mail"]["messageId"] == message_id
    assert second[1]["complaint"]["complainedRecipients"] == [{"emailAddress": "complaint@simulator.notify"}]
    verify_sns(second[0])


def test_fail_receipts_turns_a_delivery_into_a_soft_bounce(sandbox: RunningSandbox, receiver: Receiver) -> None:
    sandbox.set_faults("ses", fail_receipts=1)
    send_email(sandbox)

    _, event = ses_event_of(receiver.next())
    assert (event["notificationType"], event["bounce"]["bounceType"]) == ("Bounce", "Transient")


def test_every_call_is_a_new_email_as_ses_does_not_deduplicate(sandbox: RunningSandbox, receiver: Receiver) -> None:
    first, second = send_email(sandbox), send_email(sandbox)

    assert first != second
    assert {ses_event_of(receiver.next())[1]["mail"]["messageId"] for _ in range(2)} == {first, second}


def test_no_recipients_is_a_bad_request_client_error(sandbox: RunningSandbox) -> None:
    with pytest.raises(ClientError) as refused:
        send_email(sandbox, Destination={"ToAddresses": []})

    assert refused.value.response["Error"]["Code"] == "BadRequestException"
    assert "at least one" in refused.value.response["Error"]["Message"]
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sandbox.stats("ses")["rejected"] == 1


def test_an_illegal_address_is_a_bad_request_client_error(sandbox: RunningSandbox) -> None:
    with pytest.raises(ClientError) as refused:
        send_email(sandbox, to="not-an-address")

    assert refused.value.response["Error"]["Code"] == "BadRequestException"


@pytest.mark.parametrize(("body", "says"), [
    (b"{", "not valid JSON"),
    ({"Destination": {"ToAddresses": ["a@example.com"]}, "Content": {}}, "FromEmailAddress"),
    ({"FromEmailAddress": "s@example.com", "Destination": {"ToAddresses": ["a@example.com"]},
      "Content": {"Raw": {"Data": "x"}}}, "Content.Simple"),
    ({"FromEmailAddress": "s@example.com", "Destination": {"ToAddresses": ["a@example.com"]},
      "Content": {"Simple": {"Subject": {"Data": "s"}, "Body": {}}}}, "Body"),
    ({"FromEmailAddress": "s@example.com", "Destination": {"ToAddresses": "a@example.com"},
      "Content": {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}}}, "list of strings"),
])
def test_a_malformed_body_is_a_400_with_the_aws_error_type_header(
        sandbox: RunningSandbox, body: Any, says: str) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    reply = sandbox.http.post(ses.PATH, content=content, headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIASANDBOX/20260105/eu-west-1/ses/aws4_request, "
                         "SignedHeaders=host, Signature=0"})

    assert reply.status_code == 400
    assert reply.headers["x-amzn-ErrorType"] == "BadRequestException"
    assert says in reply.json()["message"]


def test_a_request_without_a_signature_is_refused_with_403(sandbox: RunningSandbox) -> None:
    reply = sandbox.http.post(ses.PATH, json={})

    assert reply.status_code == 403
    assert reply.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
