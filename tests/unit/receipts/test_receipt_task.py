"""process_receipts end to end: receipts posted to the real API are queued in batches and applied by the task;
young unknown SES references come back on the retry queue with a countdown."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from celery import Celery
from celery.contrib.testing.worker import start_worker
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from clarion.clock import ManualClock
from clarion.db.models import Complaint
from clarion.receipts.parse import Receipt
from clarion.worker import receipt_tasks
from tests.unit.delivery.factory import AddNotification, load
from tests.unit.receipts.conftest import CERT_PATH, FIRETEXT_TOKEN, MMG_TOKEN, Loopback, SigningKey, basic, \
    ses_message, sns_envelope
from tests.unit.worker.conftest import take_messages

MMG_AUTH = basic("notify", MMG_TOKEN)
FIRETEXT_AUTH = basic("notify", FIRETEXT_TOKEN)


def run_queued(celery_app: Celery, *queues: str) -> int:
    """Run every process_receipts message waiting on the queues, as a worker would; returns how many ran."""
    ran = 0
    for queue in queues:
        for headers, args in take_messages(celery_app, queue):
            celery_app.tasks[headers["task"]](*args)
            ran += 1
    return ran


def ses_post(client: TestClient, server: Loopback, key: SigningKey, message: dict[str, Any]) -> None:
    envelope = sns_envelope(message, cert_url=server.url(CERT_PATH), key=key.key)
    reply = client.post("/notifications/email/ses", content=orjson.dumps(envelope),
                        headers={"x-amz-sns-message-type": "Notification"})
    assert reply.status_code == 200, reply.text


def test_receipts_posted_to_the_api_are_applied_by_the_task(
        app: FastAPI, celery_app: Celery, seeded: Any, sessions: sessionmaker[Session], clock: ManualClock,
        add_notification: AddNotification, cert_server: Loopback, signing_key: SigningKey) -> None:
    mmg_text, firetext_text = add_notification(status="sending"), add_notification(status="pending")
    late_failure = add_notification(status="sending")
    email = add_notification(notification_type="email", status="sending", reference="ses-delivered")
    complained = add_notification(notification_type="email", status="delivered", reference="ses-complained")
    with TestClient(app) as client:
        for body in ({"status": "3", "substatus": "2", "CID": str(mmg_text)},
                     {"status": "3", "substatus": "2", "CID": str(mmg_text)},  # a duplicate
                     {"status": "3", "substatus": "5", "CID": str(late_failure)},
                     {"status": "4", "substatus": "6", "CID": str(late_failure)},  # out of order: ignored
                     {"status": "3", "CID": str(uuid.uuid4())}):  # nobody's: dropped
            assert client.post("/notifications/sms/mmg", json=body, headers=MMG_AUTH).status_code == 200
        assert client.post("/notifications/sms/firetext", headers=FIRETEXT_AUTH,
                           data={"status": "1", "reference": str(firetext_text)}).status_code == 200
        ses_post(client, cert_server, signing_key, ses_message("Delivery", "ses-delivered"))
        ses_post(client, cert_server, signing_key, ses_message("Complaint", "ses-complained", complaint={
            "feedbackId": "feedback-9", "complaintFeedbackType": "abuse"}))
    clock.advance(seconds=10)
    assert run_queued(celery_app, "sms-callbacks", "ses-callbacks") >= 2
    assert {i: load(sessions, i).status for i in (mmg_text, firetext_text, late_failure, email, complained)} == {
        mmg_text: "delivered", firetext_text: "temporary-failure", late_failure: "delivered", email: "delivered",
        complained: "delivered"}
    assert (load(sessions, mmg_text).sent_by, load(sessions, mmg_text).updated_at) == ("mmg", clock.now())
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Complaint)) == 1
    assert take_messages(celery_app, "retry-tasks") == []


def test_an_unknown_ses_reference_is_retried_with_a_countdown_until_the_window_closes(
        celery_app: Celery, clock: ManualClock, add_notification: AddNotification) -> None:
    young = Receipt(provider="ses", reference="not-yet", status="delivered", mail_time=clock.now())
    celery_app.tasks["process_receipts"]([young.to_message()], 0)
    [(headers, args)] = take_messages(celery_app, "retry-tasks")
    assert (headers["task"], args) == ("process_receipts", [[young.to_message()], 1])
    countdown = datetime.fromisoformat(headers["eta"]) - datetime.now(UTC)
    assert timedelta(0) < countdown <= timedelta(seconds=receipt_tasks.UNKNOWN_REFERENCE_RETRY_DELAY_S)

    clock.advance(seconds=301)
    celery_app.tasks["process_receipts"](*args)
    assert take_messages(celery_app, "retry-tasks") == []


def test_a_retry_finds_the_email_once_its_reference_is_committed(
        celery_app: Celery, clock: ManualClock, sessions: sessionmaker[Session],
        add_notification: AddNotification) -> None:
    receipt = Receipt(provider="ses", reference="committed-late", status="delivered", mail_time=clock.now())
    celery_app.tasks["process_receipts"]([receipt.to_message()], 0)
    email = add_notification(notification_type="email", status="sending", reference="committed-late")
    clock.advance(seconds=30)
    [(_, args)] = take_messages(celery_app, "retry-tasks")
    celery_app.tasks["process_receipts"](*args)
    assert load(sessions, email).status == "delivered"
    assert take_messages(celery_app, "retry-tasks") == []


def test_retries_stop_after_the_backstop_even_if_the_email_stays_young(
        celery_app: Celery, clock: ManualClock) -> None:
    ahead = Receipt(provider="ses", reference="clock-ahead", status="delivered",
                    mail_time=clock.now() + timedelta(hours=1))
    celery_app.tasks["process_receipts"]([ahead.to_message()], receipt_tasks.MAX_UNKNOWN_REFERENCE_RETRIES)
    assert take_messages(celery_app, "retry-tasks") == []


def test_a_malformed_message_in_a_batch_is_dropped_and_the_rest_applied(
        celery_app: Celery, sessions: sessionmaker[Session], add_notification: AddNotification) -> None:
    notification_id = add_notification(status="sending")
    good = Receipt(provider="mmg", reference=str(notification_id), status="delivered")
    celery_app.tasks["process_receipts"]([{"provider": "mmg", "reference": "not-an-id"}, good.to_message()], 0)
    assert load(sessions, notification_id).status == "delivered"


def test_a_real_worker_applies_receipts_sent_through_the_api(
        app: FastAPI, celery_app: Celery, seeded: Any, sessions: sessionmaker[Session],
        add_notification: AddNotification) -> None:
    texts = [add_notification(status="sending") for _ in range(20)]
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING"):
        with TestClient(app) as client:
            for notification_id in texts:
                reply = client.post("/notifications/sms/mmg", json={"status": "3", "CID": str(notification_id)},
                                    headers=MMG_AUTH)
                assert reply.status_code == 200
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(load(sessions, i).status != "delivered" for i in texts):
            time.sleep(0.05)  # leave the worker's threads the interpreter between polls
    assert {load(sessions, i).status for i in texts} == {"delivered"}
