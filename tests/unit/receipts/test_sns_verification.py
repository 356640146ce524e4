"""SNS signatures: versions 1 and 2 verify, anything altered or from elsewhere does not; certificates are cached."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import orjson
import pytest

from clarion.clock import ManualClock
from clarion.receipts import sns
from clarion.receipts.parse import MalformedReceipt
from tests.unit.receipts.conftest import CERT_PATH, TOPIC_ARN, Loopback, SigningKey, make_signing_key, ses_message, \
    sign, sns_envelope

T = TypeVar("T")
AWS_PREFIXES = ["https://sns.eu-west-1.amazonaws.com/", "https://sns.eu-west-2.amazonaws.com/"]


def run(coroutine: Awaitable[T]) -> T:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


def verifier(server: Loopback, clock: ManualClock, *, topics: tuple[str, ...] = (TOPIC_ARN,)) -> sns.SnsVerifier:
    return sns.SnsVerifier(cert_url_prefixes=[server.url("/sns/")], topic_arns=topics, clock=clock)


def envelope(server: Loopback, key: SigningKey, *, version: str = "1", **fields: Any) -> dict[str, Any]:
    return sns_envelope(ses_message("Delivery", "ses-1"), cert_url=server.url(CERT_PATH), key=key.key,
                        version=version, **fields)


def verify_all(checker: sns.SnsVerifier, *envelopes: dict[str, Any]) -> None:
    async def go() -> None:
        for one in envelopes:
            await checker.verify(sns.parse_envelope(orjson.dumps(one)))
    run(go())


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_message_signed_by_sns_verifies_with_either_signature_version(
        cert_server: Loopback, signing_key: SigningKey, clock: ManualClock, version: str) -> None:
    verify_all(verifier(cert_server, clock), envelope(cert_server, signing_key, version=version))


def test_a_message_with_a_subject_signs_the_subject_too(cert_server: Loopback, signing_key: SigningKey,
                                                        clock: ManualClock) -> None:
    signed = envelope(cert_server, signing_key, Subject="Amazon SES Email Event Notification")
    verify_all(verifier(cert_server, clock), signed)
    tampered = {**signed, "Subject": "something else"}
    with pytest.raises(sns.SignatureRejected):
        verify_all(verifier(cert_server, clock), tampered)


@pytest.mark.parametrize("field", ["Message", "MessageId", "Timestamp", "TopicArn"])
def test_a_tampered_message_is_rejected(cert_server: Loopback, signing_key: SigningKey, clock: ManualClock,
                                        field: str) -> None:
    signed = envelope(cert_server, signing_key)
    tampered = {**signed, field: signed[field].replace("1", "2") + "x"}
    both_topics = (TOPIC_ARN, tampered["TopicArn"])  # so the signature, not the topic list, is what refuses it
    with pytest.raises(sns.SignatureRejected) as refused:
        verify_all(verifier(cert_server, clock, topics=both_topics), tampered)
    assert refused.value.status_code == 403


def test_a_message_signed_by_another_key_is_rejected(cert_server: Loopback, clock: ManualClock) -> None:
    impostor = make_signing_key()
    with pytest.raises(sns.SignatureRejected, match="does not match"):
        verify_all(verifier(cert_server, clock), envelope(cert_server, impostor))


def test_a_certificate_url_outside_the_allow_list_is_rejected_without_fetching_it(
        cert_server: Loopback, signing_key: SigningKey, clock: ManualClock) -> None:
    cert_server.serve("/elsewhere/cert.pem", signing_key.certificate_pem)
    signed = sns_envelope(ses_message("Delivery", "ses-1"), cert_url=cert_server.url("/elsewhere/cert.pem"),
                          key=signing_key.key)
    with pytest.raises(sns.SignatureRejected, match="SigningCertURL is not an allowed"):
        verify_all(verifier(cert_server, clock), signed)
    assert cert_server.requests == []


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem", True),
    ("https://sns.eu-west-2.amazonaws.com/SimpleNotificationService-abc.pem", True),
    ("http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem", False),
    ("https://sns.eu-west-1.amazonaws.com.attacker.example/cert.pem", False),
    ("https://attacker.example/https://sns.eu-west-1.amazonaws.com/cert.pem", False),
    ("https://sns.eu-west-1.amazonaws.com@attacker.example/cert.pem", False),
    ("https://user@sns.eu-west-1.amazonaws.com/cert.pem", False),
    ("https://sns.eu-west-1.amazonaws.com:8443/cert.pem", False),
    ("https://sns.us-east-1.amazonaws.com/cert.pem", False),
    ("https://sns.eu-west-1.amazonaws.com:notaport/cert.pem", False),
])
def test_the_allow_list_compares_scheme_host_port_and_path(url: str, allowed: bool) -> None:
    assert sns.cert_url_allowed(url, AWS_PREFIXES) is allowed


def test_a_prefix_with_a_path_allows_only_urls_under_it() -> None:
    prefixes = ["http://127.0.0.1:6300/_sandbox/sns/"]
    assert sns.cert_url_allowed("http://127.0.0.1:6300/_sandbox/sns/certificate.pem", prefixes)
    assert not sns.cert_url_allowed("http://127.0.0.1:6300/other/certificate.pem", prefixes)
    assert not sns.cert_url_allowed("http://127.0.0.1:6301/_sandbox/sns/certificate.pem", prefixes)


def test_a_certificate_is_fetched_once_for_many_messages(cert_server: Loopback, signing_key: SigningKey,
                                                         clock: ManualClock) -> None:
    checker = verifier(cert_server, clock)
    verify_all(checker, *(envelope(cert_server, signing_key) for _ in range(5)))
    assert cert_server.requests == [CERT_PATH]


def test_concurrent_messages_share_one_certificate_download(cert_server: Loopback, signing_key: SigningKey,
                                                            clock: ManualClock) -> None:
    checker = verifier(cert_server, clock)
    messages = [sns.parse_envelope(orjson.dumps(envelope(cert_server, signing_key))) for _ in range(10)]

    async def all_at_once() -> None:
        await asyncio.gather(*(checker.verify(message) for message in messages))
    run(all_at_once())
    assert (cert_server.requests, checker.certificates.fetches) == ([CERT_PATH], 1)


def test_an_expired_certificate_is_rejected_even_from_the_cache(cert_server: Loopback, signing_key: SigningKey,
                                                                clock: ManualClock) -> None:
    checker = verifier(cert_server, clock)
    verify_all(checker, envelope(cert_server, signing_key))
    clock.advance(days=366)
    with pytest.raises(sns.SignatureRejected, match="expired"):
        verify_all(checker, envelope(cert_server, signing_key))
    with pytest.raises(sns.SignatureRejected, match="not valid now"):
        verify_all(checker, envelope(cert_server, signing_key))


def test_a_certificate_url_that_serves_no_certificate_is_rejected(loopback: Loopback, signing_key: SigningKey,
                                                                  clock: ManualClock) -> None:
    loopback.serve(CERT_PATH, b"<html>hello</html>")
    with pytest.raises(sns.SignatureRejected, match="PEM X.509"):
        verify_all(verifier(loopback, clock), envelope(loopback, signing_key))


@pytest.mark.parametrize(("status", "headers"), [(404, {}), (500, {}),
                                                 (302, {"Location": "http://127.0.0.1:1/cert.pem"})])
def test_a_certificate_that_cannot_be_fetched_is_a_503_and_redirects_are_not_followed(
        loopback: Loopback, signing_key: SigningKey, clock: ManualClock, status: int,
        headers: dict[str, str]) -> None:
    loopback.serve(CERT_PATH, b"", status=status, headers=headers)
    with pytest.raises(sns.SnsUnavailable) as refused:
        verify_all(verifier(loopback, clock), envelope(loopback, signing_key))
    assert refused.value.status_code == 503
    assert loopback.requests == [CERT_PATH]


@pytest.mark.parametrize(("change", "error"), [
    ({"SignatureVersion": "3"}, "SignatureVersion '3' is not 1 or 2"),
    ({"Signature": "%%%"}, "Signature is not base64"),
])
def test_an_unusable_signature_is_rejected(cert_server: Loopback, signing_key: SigningKey, clock: ManualClock,
                                           change: dict[str, str], error: str) -> None:
    with pytest.raises(sns.SignatureRejected, match=error):
        verify_all(verifier(cert_server, clock), {**envelope(cert_server, signing_key), **change})


@pytest.mark.parametrize("missing", ["Signature", "SignatureVersion", "SigningCertURL"])
def test_an_unsigned_message_is_401(cert_server: Loopback, signing_key: SigningKey, missing: str) -> None:
    unsigned = envelope(cert_server, signing_key)
    del unsigned[missing]
    with pytest.raises(sns.SignatureMissing) as refused:
        sns.parse_envelope(orjson.dumps(unsigned))
    assert refused.value.status_code == 401


@pytest.mark.parametrize(("body", "header", "error"), [
    (b"not json", None, "SES callback failed: the body is not JSON"),
    (b'"a string"', None, "SES callback failed: the body must be a JSON object"),
    (b'{"Type": "Hello"}', None, "SES callback failed: Type 'Hello' is not an SNS message type"),
    (b'{"Type": "Notification"}', "SubscriptionConfirmation",
     "SES callback failed: x-amz-sns-message-type 'SubscriptionConfirmation' does not match Type 'Notification'"),
])
def test_a_body_that_is_no_sns_message_is_400(body: bytes, header: str | None, error: str) -> None:
    with pytest.raises(MalformedReceipt) as refused:
        sns.parse_envelope(body, header)
    assert str(refused.value) == error


def test_a_signed_message_missing_a_signed_field_is_400(cert_server: Loopback, signing_key: SigningKey) -> None:
    signed = envelope(cert_server, signing_key)
    del signed["TopicArn"]
    with pytest.raises(MalformedReceipt, match="TopicArn missing"):
        sns.parse_envelope(orjson.dumps(signed))


def test_the_sqs_spelling_of_the_certificate_url_is_accepted(cert_server: Loopback, signing_key: SigningKey,
                                                             clock: ManualClock) -> None:
    signed = envelope(cert_server, signing_key)
    signed["SigningCertUrl"] = signed.pop("SigningCertURL")
    verify_all(verifier(cert_server, clock), signed)


def test_a_subscription_is_confirmed_by_visiting_its_subscribe_url(cert_server: Loopback, signing_key: SigningKey,
                                                                   clock: ManualClock) -> None:
    cert_server.serve("/sns/confirm", b"<ConfirmSubscriptionResponse/>")
    confirmation = sign({"Type": "SubscriptionConfirmation", "MessageId": "m-1", "Token": "t-1",
                         "TopicArn": TOPIC_ARN, "Message": "You have chosen to subscribe",
                         "SubscribeURL": cert_server.url("/sns/confirm?Token=t-1"),
                         "Timestamp": "2026-01-05T09:00:00.000Z", "SigningCertURL": cert_server.url(CERT_PATH)},
                        signing_key.key)
    checker = verifier(cert_server, clock)

    async def confirm() -> None:
        parsed = sns.parse_envelope(orjson.dumps(confirmation), "SubscriptionConfirmation")
        await checker.verify(parsed)
        await checker.confirm_subscription(parsed)
    run(confirm())
    assert cert_server.requests == [CERT_PATH, "/sns/confirm?Token=t-1"]


@pytest.mark.parametrize("version", ["1", "2"])
def test_messages_the_sandbox_signs_verify_here(loopback: Loopback, clock: ManualClock, version: str) -> None:
    # The two ends of the wire are written apart on purpose; this checks they agree.
    from clarion.sandbox.sns_signing import SnsSigner

    signer = SnsSigner(certificate_url=loopback.url("/sns/sandbox.pem"), unsubscribe_url=loopback.url("/sns/u"),
                       topic_arn="arn:aws:sns:eu-west-1:1:sandbox", now=clock.now(), signature_version=version)
    loopback.serve("/sns/sandbox.pem", signer.certificate_pem)
    message = orjson.dumps(ses_message("Delivery", "ses-1")).decode()
    verify_all(verifier(loopback, clock, topics=("arn:aws:sns:eu-west-1:1:sandbox",)),
               signer.notification(message, at=clock.now()),
               signer.notification(message, at=clock.now(), subject="Amazon SES Email Event Notification"))


def test_a_message_from_an_unlisted_topic_is_refused_before_its_certificate_is_fetched(
        cert_server: Loopback, signing_key: SigningKey, clock: ManualClock) -> None:
    signed = envelope(cert_server, signing_key, TopicArn="arn:aws:sns:eu-west-1:999999999999:elsewhere")
    with pytest.raises(sns.TopicNotAllowed) as refused:
        verify_all(verifier(cert_server, clock), signed)
    assert (refused.value.status_code, str(refused.value)) == (
        403, "Forbidden: TopicArn is not one of the SNS topics clarion accepts")
    assert cert_server.requests == []


def test_topics_are_compared_exactly(cert_server: Loopback, signing_key: SigningKey, clock: ManualClock) -> None:
    for near_miss in (TOPIC_ARN + "-2", TOPIC_ARN.upper(), TOPIC_ARN.rsplit(":", 1)[0] + ":*"):
        with pytest.raises(sns.TopicNotAllowed):
            verify_all(verifier(cert_server, clock), envelope(cert_server, signing_key, TopicArn=near_miss))


def test_a_subscription_to_an_unlisted_topic_is_never_confirmed(cert_server: Loopback, signing_key: SigningKey,
                                                                clock: ManualClock) -> None:
    # confirm_subscription checks the topic itself too, whatever its caller checked before
    confirmation = sns.parse_envelope(orjson.dumps(sign({
        "Type": "SubscriptionConfirmation", "MessageId": "m-2", "Token": "t-2", "TopicArn": "arn:aws:sns:eu-west-1:9:x",
        "Message": "You have chosen to subscribe", "SubscribeURL": cert_server.url("/sns/confirm?Token=t-2"),
        "Timestamp": "2026-01-05T09:00:00.000Z", "SigningCertURL": cert_server.url(CERT_PATH)}, signing_key.key)))
    with pytest.raises(sns.TopicNotAllowed):
        run(verifier(cert_server, clock).confirm_subscription(confirmation))
    assert cert_server.requests == []


def test_with_no_topics_configured_every_message_is_refused(cert_server: Loopback, signing_key: SigningKey,
                                                            clock: ManualClock) -> None:
    with pytest.raises(sns.TopicNotAllowed) as refused:
        verify_all(verifier(cert_server, clock, topics=()), envelope(cert_server, signing_key))
    assert str(refused.value) == ("Forbidden: SES receipts are not accepted: no SNS topics are configured "
                                  "(SNS_TOPIC_ARNS)")
    assert cert_server.requests == []


def test_the_topic_list_is_read_from_sns_topic_arns_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from clarion.config import Settings

    monkeypatch.setenv("SNS_TOPIC_ARNS", f'["{TOPIC_ARN}", "arn:aws:sns:eu-west-2:123456789012:other"]')
    assert Settings().sns_topic_arns == [TOPIC_ARN, "arn:aws:sns:eu-west-2:123456789012:other"]
    monkeypatch.delenv("SNS_TOPIC_ARNS")
    assert Settings().sns_topic_arns == []
