"""process_receipts end to end: receipts posted to the real API are queued in batches and applied by the task;
young unknown SES references come back on the retry queue with a countdown; a receipt that cannot be applied
is dropped alone and the rest of its batch is applied."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
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


def complaint_message(reference: str, feedback_id: str, clock: ManualClock) -> dict[str, Any]:
    """A complaint as it travels on the queue, built by hand (as an older clarion might have queued it)."""
    return {"provider": "ses", "reference": reference, "event": "complaint", "mail_time": clock.now().isoformat(),
            "feedback_id": feedback_id, "complaint_type": "abuse", "complaint_time": clock.now().isoformat()}


def complaint_feedback_ids(sessions: sessionmaker[Session]) -> list[str | None]:
    with sessions() as session:
        return sorted(session.scalars(select(Complaint.ses_feedback_id)))


def test_a_queued_complaint_whose_feedback_id_does_not_fit_is_dropped_alone(
        celery_app: Celery, clock: ManualClock, sessions: sessionmaker[Session],
        add_notification: AddNotification) -> None:
    # The reviewer's case: on PostgreSQL this feedback id used to fail the whole batch with a DataError.
    text = add_notification(status="sending")
    complained = add_notification(notification_type="email", status="delivered", reference="ses-complained")
    email = add_notification(notification_type="email", status="sending", reference="ses-delivered")
    celery_app.tasks["process_receipts"]([
        Receipt(provider="mmg", reference=str(text), status="delivered").to_message(),
        complaint_message("ses-complained", "f" * 256, clock),
        Receipt(provider="ses", reference="ses-delivered", status="delivered", mail_time=clock.now()).to_message(),
    ], 0)
    assert (load(sessions, text).status, load(sessions, email).status) == ("delivered", "delivered")
    assert load(sessions, complained).status == "delivered"
    assert complaint_feedback_ids(sessions) == []


def refuse_in_the_database(sessions: sessionmaker[Session], feedback_id: str) -> None:
    """A trigger that makes the database itself refuse to record a complaint with this feedback id."""
    with sessions.begin() as session:
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(
                f"CREATE TRIGGER refuse_poison BEFORE INSERT ON complaints WHEN NEW.ses_feedback_id = '{feedback_id}' "
                f"BEGIN SELECT RAISE(ABORT, 'poison complaint'); END")
            return
        connection.exec_driver_sql(
            f"CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.ses_feedback_id = '{feedback_id}' THEN RAISE EXCEPTION 'poison complaint'; END IF; "
            f"RETURN NEW; END $$")
        connection.exec_driver_sql("CREATE TRIGGER refuse_poison BEFORE INSERT ON complaints FOR EACH ROW "
                                   "EXECUTE FUNCTION refuse_poison()")


def test_a_receipt_the_database_refuses_is_dropped_alone_and_the_rest_of_its_batch_applied(
        celery_app: Celery, clock: ManualClock, sessions: sessionmaker[Session],
        add_notification: AddNotification, caplog: pytest.LogCaptureFixture) -> None:
    text, firetext_text = add_notification(status="sending"), add_notification(status="sending")
    complained = add_notification(notification_type="email", status="delivered", reference="ses-complained")
    email = add_notification(notification_type="email", status="sending", reference="ses-delivered")
    refuse_in_the_database(sessions, "poison-feedback")
    batch = [Receipt(provider="mmg", reference=str(text), status="delivered").to_message(),
             complaint_message("ses-complained", "poison-feedback", clock),
             complaint_message("ses-complained", "fine-feedback", clock),
             Receipt(provider="ses", reference="ses-delivered", status="delivered",
                     mail_time=clock.now()).to_message(),
             Receipt(provider="ses", reference="not-yet", status="delivered", mail_time=clock.now()).to_message(),
             Receipt(provider="firetext", reference=str(firetext_text), status="delivered").to_message()]
    with caplog.at_level(logging.INFO, logger="clarion.worker.receipt_tasks"):
        celery_app.tasks["process_receipts"](batch, 0)
    assert {i: load(sessions, i).status for i in (text, firetext_text, complained, email)} == {
        text: "delivered", firetext_text: "delivered", complained: "delivered", email: "delivered"}
    assert complaint_feedback_ids(sessions) == ["fine-feedback"]
    [(_, args)] = take_messages(celery_app, "retry-tasks")  # the young unknown reference is still retried
    assert [message["reference"] for message in args[0]] == ["not-yet"]
    task_log = [r for r in caplog.records if r.name == "clarion.worker.receipt_tasks"]
    assert [r.getMessage() for r in task_log] == ["receipt batch failed; applying its receipts one at a time",
                                                  "receipt dropped: it cannot be applied"]
    dropped = task_log[1]
    assert (dropped.levelno, dropped.reference, dropped.event) == (logging.ERROR, "ses-complained", "complaint")
    assert "poison complaint" in dropped.error


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # only it reports a deadlock from a trigger
def test_an_outage_while_applying_one_at_a_time_retries_only_the_receipts_not_yet_applied(
        celery_app: Celery, clock: ManualClock, sessions: sessionmaker[Session], database_url: str,
        add_notification: AddNotification, caplog: pytest.LogCaptureFixture) -> None:
    first, blocked, last = (add_notification(status="sending") for _ in range(3))
    add_notification(notification_type="email", status="delivered", reference="ses-complained")
    refuse_in_the_database(sessions, "poison-feedback")
    with sessions.begin() as session:  # the first update of `blocked` meets a deadlock; a sequence is not rolled back
        session.connection().exec_driver_sql(
            f"CREATE SEQUENCE deadlocks; CREATE FUNCTION deadlock_once() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF NEW.id = '{blocked}'::uuid THEN IF nextval('deadlocks') = 1 THEN "
            f"RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END IF; END IF; RETURN NEW; END $$; "
            f"CREATE TRIGGER deadlock_once BEFORE UPDATE ON notifications FOR EACH ROW "
            f"EXECUTE FUNCTION deadlock_once()")
    batch = [Receipt(provider="mmg", reference=str(first), status="delivered").to_message(),
             complaint_message("ses-complained", "poison-feedback", clock),
             Receipt(provider="mmg", reference=str(blocked), status="delivered").to_message(),
             Receipt(provider="mmg", reference=str(last), status="delivered").to_message()]
    with caplog.at_level(logging.INFO, logger="clarion.worker.receipt_tasks"):
        celery_app.tasks["process_receipts"].apply(args=[batch, 0])  # eagerly, so its retry runs at once too
    assert {load(sessions, i).status for i in (first, blocked, last)} == {"delivered"}
    task_log = [(r.getMessage(), getattr(r, "count", None)) for r in caplog.records
                if r.name == "clarion.worker.receipt_tasks"]
    assert task_log == [("receipt batch failed; applying its receipts one at a time", 4),
                        ("receipt dropped: it cannot be applied", None),
                        ("receipt batch failed on the database; retrying", 2)]  # `blocked` and `last` only


def test_an_overlong_complaint_type_is_stored_cut_to_its_column(
        app: FastAPI, celery_app: Celery, seeded: Any, sessions: sessionmaker[Session],
        add_notification: AddNotification, cert_server: Loopback, signing_key: SigningKey) -> None:
    add_notification(notification_type="email", status="delivered", reference="ses-complained")
    with TestClient(app) as client:
        ses_post(client, cert_server, signing_key, ses_message("Complaint", "ses-complained", complaint={
            "feedbackId": "feedback-9", "complaintFeedbackType": "abuse" + "!" * 400}))
    run_queued(celery_app, "ses-callbacks")
    with sessions() as session:
        assert session.scalars(select(Complaint.complaint_type)).all() == [("abuse" + "!" * 400)[:255]]
