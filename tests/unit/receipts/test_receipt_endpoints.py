"""The receipt endpoints through the real app: valid receipts are answered at once and queued; a caller
without credentials gets 401, with wrong ones (or from an SNS topic not listed) 403, with a malformed
body 400, with a body over the cap 413, and none of them changes the database or queues anything."""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
import uvicorn
from celery import Celery
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from clarion.api.app import create_app
from clarion.api.receipts import SES_MAX_BODY_BYTES, SMS_MAX_BODY_BYTES
from clarion.config import Settings
from tests.unit.delivery.factory import AddNotification
from tests.unit.receipts.conftest import CERT_PATH, FIRETEXT_TOKEN, MMG_TOKEN, TOPIC_ARN, Loopback, SigningKey, \
    basic, database_snapshot, make_signing_key, queued_receipts, ses_message, sign, sns_envelope
from tests.unit.worker.conftest import take_messages

MMG_AUTH = basic("notify", MMG_TOKEN)
FIRETEXT_AUTH = basic("notify", FIRETEXT_TOKEN)
SES_PATH = "/notifications/email/ses"


@contextmanager
def nothing_changes(sessions: sessionmaker[Session], celery_app: Celery) -> Iterator[None]:
    """The block's requests leave the database as it was and queue nothing (checked after the app shut down,
    which sends whatever its batcher still held)."""
    before = database_snapshot(sessions)
    yield
    assert database_snapshot(sessions) == before
    assert queued_receipts(celery_app) == {}


@contextmanager
def running(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def mmg_json(notification_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    return {"reqType": "DLR", "status": "3", "substatus": "5", "CID": str(notification_id),
            "MSISDN": "447700900123", "reference": "mmg-1", "deliverytime": "2026-01-05 09:00:05", **fields}


def firetext_form(notification_id: uuid.UUID, **fields: str) -> dict[str, str]:
    return {"status": "0", "reference": str(notification_id), "code": "000", "time": "2026-01-05 09:00:05",
            "mobile": "447700900123", **fields}


def post_sns(client: TestClient, envelope: dict[str, Any] | bytes) -> Any:
    body = envelope if isinstance(envelope, bytes) else orjson.dumps(envelope)
    message_type = None if isinstance(envelope, bytes) else envelope.get("Type")
    headers = {"Content-Type": "text/plain; charset=UTF-8"}
    if message_type:
        headers["x-amz-sns-message-type"] = message_type
    return client.post(SES_PATH, content=body, headers=headers)


def error_message(reply: Any, status_code: int) -> str:
    assert reply.status_code == status_code, reply.text
    body = reply.json()
    assert body["status_code"] == status_code
    [error] = body["errors"]
    return error["message"]


def test_an_mmg_receipt_is_answered_at_once_and_queued(app: FastAPI, celery_app: Celery, seeded: Any,
                                                       sessions: sessionmaker[Session],
                                                       add_notification: AddNotification) -> None:
    notification_id = add_notification(status="sending")
    before = database_snapshot(sessions)
    with running(app) as client:
        reply = client.post("/notifications/sms/mmg", json=mmg_json(notification_id), headers=MMG_AUTH)
        assert (reply.status_code, reply.json()) == (200, {"result": "success"})
        assert database_snapshot(sessions) == before  # the worker applies it, not the request
    assert queued_receipts(celery_app) == {"sms-callbacks": [
        {"provider": "mmg", "reference": str(notification_id), "status": "delivered", "code": "5",
         "event": "status"}]}


def test_a_firetext_receipt_is_answered_at_once_and_queued(app: FastAPI, celery_app: Celery, seeded: Any,
                                                           add_notification: AddNotification) -> None:
    notification_id = add_notification(status="sending")
    with running(app) as client:
        reply = client.post("/notifications/sms/firetext", data=firetext_form(notification_id, status="1",
                                                                              code="101"),
                            headers=FIRETEXT_AUTH)
        assert (reply.status_code, reply.json()) == (200, {"result": "success"})
    [queued] = queued_receipts(celery_app)["sms-callbacks"]
    assert (queued["provider"], queued["status"], queued["code"], queued["reason"]) == (
        "firetext", "permanent-failure", "101", "Unknown Subscriber")


def test_many_receipts_go_to_the_queue_in_few_messages(app: FastAPI, celery_app: Celery, seeded: Any) -> None:
    with running(app) as client, ThreadPoolExecutor(25) as pool:  # a provider posts receipts side by side
        replies = list(pool.map(lambda _: client.post("/notifications/sms/mmg", json=mmg_json(uuid.uuid4()),
                                                      headers=MMG_AUTH), range(50)))
    assert {reply.status_code for reply in replies} == {200}
    messages = take_messages(celery_app, "sms-callbacks")
    assert sum(len(args[0]) for _, args in messages) == 50
    assert len(messages) < 50


def test_a_receipt_that_cannot_be_queued_is_a_503_so_the_provider_sends_it_again(
        make_app: Callable[[Settings], FastAPI], receipt_settings: Settings, seeded: Any,
        sessions: sessionmaker[Session]) -> None:
    with socket.socket() as closed:  # a broker address where nothing listens
        closed.bind(("127.0.0.1", 0))
        broker = f"redis://127.0.0.1:{closed.getsockname()[1]}/0"
    unreachable = Celery("unreachable", broker=broker, set_as_current=False)
    unreachable.conf.update(task_publish_retry=False, broker_connection_retry=False,
                            broker_connection_max_retries=0)
    before = database_snapshot(sessions)
    with TestClient(create_app(receipt_settings, celery_app=unreachable)) as client:
        reply = client.post("/notifications/sms/mmg", json=mmg_json(uuid.uuid4()), headers=MMG_AUTH)
    assert reply.status_code == 503
    assert reply.json()["errors"] == [{"error": "ServiceUnavailable",
                                       "message": "could not queue the receipt; send it again"}]
    assert database_snapshot(sessions) == before


SMS_REFUSALS = [  # (path, request kwargs, status, message)
    ("/notifications/sms/mmg", {"headers": {}}, 401,
     "Unauthorized: basic authentication credentials must be provided"),
    ("/notifications/sms/mmg", {"headers": basic("notify", "a-guess")}, 403,
     "Forbidden: invalid basic authentication credentials"),
    ("/notifications/sms/mmg", {"headers": FIRETEXT_AUTH}, 403,  # each provider has its own tokens
     "Forbidden: invalid basic authentication credentials"),
    ("/notifications/sms/mmg", {"headers": basic("someone", MMG_TOKEN)}, 403,
     "Forbidden: invalid basic authentication credentials"),
    ("/notifications/sms/mmg", {"headers": MMG_AUTH, "body": {"CID": None}}, 400, "MMG callback failed: CID missing"),
    ("/notifications/sms/mmg", {"headers": MMG_AUTH, "body": {"status": None}}, 400,
     "MMG callback failed: status missing"),
    ("/notifications/sms/mmg", {"headers": {}, "body": {"status": None}}, 401,  # credentials are checked first
     "Unauthorized: basic authentication credentials must be provided"),
    ("/notifications/sms/firetext", {"headers": {}}, 401,
     "Unauthorized: basic authentication credentials must be provided"),
    ("/notifications/sms/firetext", {"headers": MMG_AUTH}, 403, "Forbidden: invalid basic authentication credentials"),
    ("/notifications/sms/firetext", {"headers": FIRETEXT_AUTH, "body": {"reference": None}}, 400,
     "Firetext callback failed: reference missing"),
    ("/notifications/sms/firetext", {"headers": FIRETEXT_AUTH, "body": {"status": "9"}}, 400,
     "Firetext callback failed: status '9' is not a Firetext status (0, 1, 2)"),
]


@pytest.mark.parametrize(("path", "request_kwargs", "status_code", "message"), SMS_REFUSALS)
def test_a_refused_sms_receipt_changes_nothing(
        app: FastAPI, celery_app: Celery, seeded: Any, sessions: sessionmaker[Session],
        add_notification: AddNotification, path: str, request_kwargs: dict[str, Any], status_code: int,
        message: str) -> None:
    notification_id = add_notification(status="sending")
    changes = request_kwargs.get("body", {})
    with nothing_changes(sessions, celery_app):
        with running(app) as client:
            if path.endswith("mmg"):
                body = {k: v for k, v in mmg_json(notification_id, **changes).items() if v is not None}
                reply = client.post(path, json=body, headers=request_kwargs["headers"])
            else:
                form = {k: v for k, v in firetext_form(notification_id, **changes).items() if v is not None}
                reply = client.post(path, data=form, headers=request_kwargs["headers"])
            assert error_message(reply, status_code) == message
            if status_code == 401:
                assert reply.headers["WWW-Authenticate"].startswith("Basic")


def test_an_mmg_body_that_is_not_json_is_400(app: FastAPI, celery_app: Celery, seeded: Any,
                                             sessions: sessionmaker[Session]) -> None:
    with nothing_changes(sessions, celery_app), running(app) as client:
        reply = client.post("/notifications/sms/mmg", content=b"{not json", headers=MMG_AUTH)
        assert error_message(reply, 400) == "MMG callback failed: the body is not JSON"


def test_without_tokens_every_sms_receipt_is_refused_and_the_log_says_why(
        make_app: Callable[[Settings], FastAPI], receipt_settings: Settings, celery_app: Celery, seeded: Any,
        sessions: sessionmaker[Session], add_notification: AddNotification,
        caplog: pytest.LogCaptureFixture) -> None:
    unconfigured = receipt_settings.model_copy(update={"mmg_inbound_sms_auth": [], "firetext_inbound_sms_auth": []})
    notification_id = add_notification(status="sending")
    with caplog.at_level(logging.WARNING, logger="clarion.receipts.basic_auth"):
        with nothing_changes(sessions, celery_app), running(make_app(unconfigured)) as client:
            for path, body, auth in [("/notifications/sms/mmg", {"json": mmg_json(notification_id)}, MMG_AUTH),
                                     ("/notifications/sms/firetext", {"data": firetext_form(notification_id)},
                                      FIRETEXT_AUTH),
                                     ("/notifications/sms/mmg", {"json": mmg_json(notification_id)},
                                      basic("notify", ""))]:
                reply = client.post(path, headers=auth, **body)
                assert "no tokens are configured" in error_message(reply, 403)
    settings_named = {record.setting for record in caplog.records}
    assert settings_named == {"MMG_INBOUND_SMS_AUTH", "FIRETEXT_INBOUND_SMS_AUTH"}


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_ses_receipt_is_answered_at_once_and_queued(
        app: FastAPI, celery_app: Celery, seeded: Any, cert_server: Loopback, signing_key: SigningKey,
        version: str) -> None:
    envelope = sns_envelope(ses_message("Delivery", "ses-message-1"), cert_url=cert_server.url(CERT_PATH),
                            key=signing_key.key, version=version)
    with running(app) as client:
        reply = post_sns(client, envelope)
        assert (reply.status_code, reply.json()) == (200, {"result": "success"})
    [queued] = queued_receipts(celery_app)["ses-callbacks"]
    assert (queued["provider"], queued["reference"], queued["status"]) == ("ses", "ses-message-1", "delivered")
    assert "someone@example.com" not in orjson.dumps(queued).decode()


def tampered(envelope: dict[str, Any]) -> dict[str, Any]:
    message = orjson.loads(envelope["Message"])
    message["notificationType"] = "Bounce"
    message["bounce"] = {"bounceType": "Permanent"}
    return {**envelope, "Message": orjson.dumps(message).decode()}


SES_REFUSALS: list[tuple[str, Callable[[dict[str, Any], Loopback], dict[str, Any] | bytes], int, str]] = [
    ("tampered message", lambda e, _: tampered(e), 403, "Forbidden: the SNS signature does not match the message"),
    ("signed by someone else", lambda e, s: sign({**e}, make_signing_key().key), 403,
     "Forbidden: the SNS signature does not match the message"),
    ("certificate outside the allow-list", lambda e, s: {**e, "SigningCertURL": "http://127.0.0.1:9/sns/c.pem"}, 403,
     "Forbidden: SigningCertURL is not an allowed SNS certificate location"),
    ("unsigned", lambda e, _: {k: v for k, v in e.items() if k != "Signature"}, 401,
     "Unauthorized: the SNS message must carry Signature, SignatureVersion and SigningCertURL"),
    ("not JSON", lambda e, _: b"Type=Notification", 400, "SES callback failed: the body is not JSON"),
    ("no MessageId", lambda e, _: {k: v for k, v in e.items() if k != "MessageId"}, 400,
     "SES callback failed: MessageId missing"),
]


@pytest.mark.parametrize(("case", "change", "status_code", "message"), SES_REFUSALS,
                         ids=[case for case, *_ in SES_REFUSALS])
def test_a_refused_ses_receipt_changes_nothing(
        app: FastAPI, celery_app: Celery, seeded: Any, sessions: sessionmaker[Session], cert_server: Loopback,
        signing_key: SigningKey, add_notification: AddNotification, case: str,
        change: Callable[[dict[str, Any], Loopback], dict[str, Any] | bytes], status_code: int,
        message: str) -> None:
    add_notification(notification_type="email", status="sending", reference="ses-message-1")
    envelope = sns_envelope(ses_message("Delivery", "ses-message-1"), cert_url=cert_server.url(CERT_PATH),
                            key=signing_key.key)
    with nothing_changes(sessions, celery_app), running(app) as client:
        assert error_message(post_sns(client, change(envelope, cert_server)), status_code) == message


def test_a_signed_message_that_is_no_ses_event_is_400_and_changes_nothing(
        app: FastAPI, celery_app: Celery, seeded: Any, sessions: sessionmaker[Session], cert_server: Loopback,
        signing_key: SigningKey) -> None:
    envelope = sns_envelope({"notificationType": "Delivery", "mail": {"timestamp": "2026-01-05T09:00:00Z"}},
                            cert_url=cert_server.url(CERT_PATH), key=signing_key.key)
    with nothing_changes(sessions, celery_app), running(app) as client:
        assert error_message(post_sns(client, envelope), 400) == "SES callback failed: mail.messageId missing"


def test_a_certificate_that_cannot_be_fetched_is_a_503_so_sns_tries_again(
        app: FastAPI, celery_app: Celery, seeded: Any, sessions: sessionmaker[Session], loopback: Loopback,
        signing_key: SigningKey) -> None:
    envelope = sns_envelope(ses_message("Delivery", "ses-message-1"), cert_url=loopback.url("/sns/missing.pem"),
                            key=signing_key.key)
    with nothing_changes(sessions, celery_app), running(app) as client:
        assert error_message(post_sns(client, envelope), 503) == (
            f"could not fetch {loopback.url('/sns/missing.pem')}: HTTP 404")
        assert loopback.requests == ["/sns/missing.pem"]


def subscription(server: Loopback, key: SigningKey, *, subscribe_path: str = "/sns/confirm",
                 topic: str = TOPIC_ARN) -> dict[str, Any]:
    return sign({"Type": "SubscriptionConfirmation", "MessageId": str(uuid.uuid4()), "Token": "token-1",
                 "TopicArn": topic, "Message": "You have chosen to subscribe to the topic",
                 "SubscribeURL": server.url(f"{subscribe_path}?Action=ConfirmSubscription&Token=token-1"),
                 "Timestamp": "2026-01-05T09:00:00.000Z", "SigningCertURL": server.url(CERT_PATH)}, key.key)


def test_a_signed_subscription_confirmation_visits_the_subscribe_url(
        app: FastAPI, celery_app: Celery, seeded: Any, sessions: sessionmaker[Session], cert_server: Loopback,
        signing_key: SigningKey) -> None:
    cert_server.serve("/sns/confirm", b"<ConfirmSubscriptionResponse/>")
    with nothing_changes(sessions, celery_app), running(app) as client:
        assert post_sns(client, subscription(cert_server, signing_key)).status_code == 200
    assert cert_server.requests == [CERT_PATH, "/sns/confirm?Action=ConfirmSubscription&Token=token-1"]


def test_a_subscription_confirmation_with_a_bad_signature_visits_nothing(
        app: FastAPI, celery_app: Celery, seeded: Any, sessions: sessionmaker[Session], cert_server: Loopback,
        signing_key: SigningKey) -> None:
    cert_server.serve("/sns/confirm", b"<ConfirmSubscriptionResponse/>")
    forged = {**subscription(cert_server, signing_key), "Token": "token-2"}
    with nothing_changes(sessions, celery_app), running(app) as client:
        assert error_message(post_sns(client, forged), 403) == (
            "Forbidden: the SNS signature does not match the message")
    assert cert_server.requests == [CERT_PATH]


def test_a_subscribe_url_outside_the_allow_list_is_not_visited(
        app: FastAPI, celery_app: Celery, seeded: Any, sessions: sessionmaker[Session], cert_server: Loopback,
        signing_key: SigningKey) -> None:
    cert_server.serve("/elsewhere/confirm", b"<ConfirmSubscriptionResponse/>")
    outside = subscription(cert_server, signing_key, subscribe_path="/elsewhere/confirm")
    with nothing_changes(sessions, celery_app), running(app) as client:
        assert error_message(post_sns(client, outside), 403) == (
            "Forbidden: SubscribeURL is not an allowed SNS location")
    assert cert_server.requests == [CERT_PATH]


SES_UNSTORABLE = [  # (case, SES event, message): values the columns cannot hold are refused at the door
    ("feedback id longer than its column", ses_message("Complaint", "ses-message-1", complaint={
        "feedbackId": "f" * 256, "complaintFeedbackType": "abuse"}),
     "SES callback failed: complaint.feedbackId is longer than 255 characters"),
    ("feedback id with a NUL", ses_message("Complaint", "ses-message-1", complaint={"feedbackId": "f\x00"}),
     "SES callback failed: complaint.feedbackId contains a NUL character"),
    ("message id longer than its column", ses_message("Delivery", "m" * 256),
     "SES callback failed: mail.messageId is longer than 255 characters"),
]


@pytest.mark.parametrize(("case", "event", "message"), SES_UNSTORABLE, ids=[case for case, *_ in SES_UNSTORABLE])
def test_a_signed_ses_receipt_whose_keys_do_not_fit_is_400_and_changes_nothing(
        app: FastAPI, celery_app: Celery, seeded: Any, sessions: sessionmaker[Session], cert_server: Loopback,
        signing_key: SigningKey, add_notification: AddNotification, case: str, event: dict[str, Any],
        message: str) -> None:
    add_notification(notification_type="email", status="delivered", reference="ses-message-1")
    envelope = sns_envelope(event, cert_url=cert_server.url(CERT_PATH), key=signing_key.key)
    with nothing_changes(sessions, celery_app), running(app) as client:
        assert error_message(post_sns(client, envelope), 400) == message


OTHER_TOPIC = "arn:aws:sns:eu-west-1:999999999999:someone-elses-topic"


def test_a_genuinely_signed_receipt_from_an_unlisted_topic_is_403_before_any_certificate_is_fetched(
        app: FastAPI, celery_app: Celery, seeded: Any, sessions: sessionmaker[Session], cert_server: Loopback,
        signing_key: SigningKey, add_notification: AddNotification) -> None:
    # Anyone can make an SNS topic, subscribe this endpoint and publish: SNS signs their messages too.
    add_notification(notification_type="email", status="sending", reference="ses-message-1")
    forged = sns_envelope(ses_message("Bounce", "ses-message-1", bounce={"bounceType": "Permanent"}),
                          cert_url=cert_server.url(CERT_PATH), key=signing_key.key, TopicArn=OTHER_TOPIC)
    with nothing_changes(sessions, celery_app), running(app) as client:
        assert error_message(post_sns(client, forged), 403) == (
            "Forbidden: TopicArn is not one of the SNS topics clarion accepts")
    assert cert_server.requests == []


def test_a_subscription_to_an_unlisted_topic_is_not_confirmed(
        app: FastAPI, celery_app: Celery, seeded: Any, sessions: sessionmaker[Session], cert_server: Loopback,
        signing_key: SigningKey) -> None:
    cert_server.serve("/sns/confirm", b"<ConfirmSubscriptionResponse/>")
    with nothing_changes(sessions, celery_app), running(app) as client:
        reply = post_sns(client, subscription(cert_server, signing_key, topic=OTHER_TOPIC))
        assert error_message(reply, 403) == "Forbidden: TopicArn is not one of the SNS topics clarion accepts"
    assert cert_server.requests == []  # neither the certificate nor the SubscribeURL


def test_without_topics_every_ses_message_is_refused_and_the_log_says_why_once(
        make_app: Callable[[Settings], FastAPI], receipt_settings: Settings, celery_app: Celery, seeded: Any,
        sessions: sessionmaker[Session], cert_server: Loopback, signing_key: SigningKey,
        add_notification: AddNotification, caplog: pytest.LogCaptureFixture) -> None:
    add_notification(notification_type="email", status="sending", reference="ses-message-1")
    cert_server.serve("/sns/confirm", b"<ConfirmSubscriptionResponse/>")
    unconfigured = receipt_settings.model_copy(update={"sns_topic_arns": []})
    delivery = sns_envelope(ses_message("Delivery", "ses-message-1"), cert_url=cert_server.url(CERT_PATH),
                            key=signing_key.key)
    with caplog.at_level(logging.WARNING, logger="clarion.receipts.sns"):
        with nothing_changes(sessions, celery_app), running(make_app(unconfigured)) as client:
            for envelope in (delivery, subscription(cert_server, signing_key), delivery):
                assert error_message(post_sns(client, envelope), 403) == (
                    "Forbidden: SES receipts are not accepted: no SNS topics are configured (SNS_TOPIC_ARNS)")
    assert cert_server.requests == []
    [warning] = [r for r in caplog.records if r.name == "clarion.receipts.sns"]
    assert warning.getMessage().startswith("SNS_TOPIC_ARNS is empty: every SES receipt and SNS subscription "
                                           "will be refused")


def test_receipts_from_any_listed_topic_are_accepted(
        make_app: Callable[[Settings], FastAPI], receipt_settings: Settings, celery_app: Celery, seeded: Any,
        cert_server: Loopback, signing_key: SigningKey) -> None:
    two_topics = receipt_settings.model_copy(update={"sns_topic_arns": [TOPIC_ARN, OTHER_TOPIC]})
    with running(make_app(two_topics)) as client:
        for topic, reference in ((TOPIC_ARN, "ses-a"), (OTHER_TOPIC, "ses-b")):
            envelope = sns_envelope(ses_message("Delivery", reference), cert_url=cert_server.url(CERT_PATH),
                                    key=signing_key.key, TopicArn=topic)
            assert post_sns(client, envelope).status_code == 200
    assert [r["reference"] for r in queued_receipts(celery_app)["ses-callbacks"]] == ["ses-a", "ses-b"]


BODY_CAPS = [  # (path, headers, cap, what a body just at the cap gets: it is read and found not to be a receipt)
    (SES_PATH, {}, SES_MAX_BODY_BYTES, (400, "SES callback failed: the body is not JSON")),
    ("/notifications/sms/mmg", MMG_AUTH, SMS_MAX_BODY_BYTES, (400, "MMG callback failed: the body is not JSON")),
    ("/notifications/sms/firetext", FIRETEXT_AUTH, SMS_MAX_BODY_BYTES,
     (400, "Firetext callback failed: status missing")),
]


def too_large(reply: Any, cap: int) -> None:
    assert reply.status_code == 413, reply.text
    assert reply.json() == {"status_code": 413, "errors": [{
        "error": "RequestEntityTooLarge",
        "message": f"the request body is larger than {cap // 1024} KiB, the most this endpoint accepts"}]}


@pytest.mark.parametrize(("path", "headers", "cap", "at_cap"), BODY_CAPS, ids=[p for p, *_ in BODY_CAPS])
def test_a_body_over_the_endpoints_cap_is_413_and_changes_nothing(
        app: FastAPI, celery_app: Celery, seeded: Any, sessions: sessionmaker[Session], path: str,
        headers: dict[str, str], cap: int, at_cap: tuple[int, str]) -> None:
    with nothing_changes(sessions, celery_app), running(app) as client:
        assert error_message(client.post(path, content=b"x" * cap, headers=headers), at_cap[0]) == at_cap[1]
        too_large(client.post(path, content=b"x" * (cap + 1), headers=headers), cap)
        # without a Content-Length (chunked), the cap is found while reading
        too_large(client.post(path, content=iter([b"x" * 4096] * (cap // 4096 + 1)), headers=headers), cap)


def post_large_body(client: TestClient, path: str, headers: dict[str, str]) -> tuple[int, int]:
    """POST a 4 MiB body in 16 KiB chunks straight through the app's ASGI interface, as a server hands it
    over; returns (status, chunks the app read)."""
    chunks_read = 0
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal chunks_read
        chunks_read += 1
        return {"type": "http.request", "body": b"x" * 16384, "more_body": chunks_read < 256}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 6011)}
    client.portal.call(client.app, scope, receive, send)
    return statuses[0], chunks_read


def test_reading_a_body_stops_at_the_cap(app: FastAPI, seeded: Any) -> None:
    # An unauthenticated caller must not make the endpoint hold a large body: reading stops at the cap.
    with running(app) as client:
        status_code, chunks_read = post_large_body(client, SES_PATH, {})
        assert (status_code, chunks_read) == (413, SES_MAX_BODY_BYTES // 16384 + 1)
        status_code, chunks_read = post_large_body(client, "/notifications/sms/mmg", MMG_AUTH)
        assert (status_code, chunks_read) == (413, SMS_MAX_BODY_BYTES // 16384 + 1)
        # SMS receipts are authenticated first: a caller without credentials has nothing of its body read
        assert post_large_body(client, "/notifications/sms/mmg", {}) == (401, 0)


@contextmanager
def served(app: FastAPI) -> Iterator[int]:
    """The app under uvicorn on a loopback port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def test_a_declared_body_over_the_cap_is_answered_413_before_it_is_sent(
        app: FastAPI, celery_app: Celery, seeded: Any, sessions: sessionmaker[Session]) -> None:
    with nothing_changes(sessions, celery_app), served(app) as port, \
            socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(b"POST /notifications/email/ses HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"Content-Type: text/plain\r\nContent-Length: 1073741824\r\n\r\n")  # and no body
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
            chunk = connection.recv(65536)
            assert chunk, answer
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert orjson.loads(body)["errors"][0]["error"] == "RequestEntityTooLarge"
