"""Delivery tasks: batches of ids, each delivered on its own, retried on its own, idempotent."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.config import Settings
from clarion.db.models import LimitCounter
from clarion.providers.registry import NotificationProviderClients
from clarion.worker import dispatch, schedule
from clarion.worker.context import WorkerContext, install_context, worker_context
from clarion.worker.tasks import requeue_created
from clarion.worker.retry import RetryPolicy
from tests.unit.delivery.factory import AddNotification, load
from tests.unit.delivery.fakes import FakeSms
from tests.unit.worker.conftest import take_messages


def wait_for_statuses(sessions: sessionmaker[Session], ids: list, wanted: set[str]) -> dict:
    """Poll the database until every notification is in one of `wanted` (a real worker is running)."""
    deadline = datetime.now(UTC) + timedelta(seconds=60)
    while True:
        statuses = {i: load(sessions, i).status for i in ids}
        if set(statuses.values()) <= wanted or datetime.now(UTC) > deadline:
            return statuses
        time.sleep(0.05)  # leave the worker's threads the interpreter between polls


def test_the_retry_policy_is_notifys_first_at_once_then_every_five_minutes_48_in_all() -> None:
    policy = RetryPolicy(max_retries=48, delay_s=300)
    countdowns = [policy.countdown_after(attempt) for attempt in range(49)]
    assert countdowns == [0] + [300] * 47 + [None]


def test_the_retry_policy_comes_from_settings(celery_app: Celery, settings: Settings) -> None:
    assert worker_context(celery_app).retry_policy == RetryPolicy(max_retries=48, delay_s=300)
    custom = Settings(database_url=settings.database_url, broker_url="memory://", delivery_max_retries=3,
                      delivery_retry_delay_s=10)
    assert WorkerContext.from_settings(custom).retry_policy == RetryPolicy(max_retries=3, delay_s=10)


def test_a_batch_of_test_key_notifications_reaches_its_simulated_outcomes_through_a_worker(
        celery_app: Celery, add_notification: AddNotification, sessions: sessionmaker[Session]) -> None:
    expected = {add_notification(to="447700900123"): "delivered",
                add_notification(to="447700900002"): "permanent-failure",
                add_notification(to="447700900003"): "temporary-failure",
                add_notification(notification_type="email", to="perm-fail@simulator.notify"): "permanent-failure"}
    sms = [i for i in expected][:3]
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING"):
        dispatch.enqueue_delivery(celery_app, "sms", sms)
        dispatch.enqueue_delivery(celery_app, "email", list(expected)[3:])
        assert wait_for_statuses(sessions, list(expected), set(expected.values())) == expected


def test_a_failing_id_is_retried_alone_at_once_then_after_the_delay(
        celery_app: Celery, add_notification: AddNotification, sessions: sessionmaker[Session]) -> None:
    simulated, real = add_notification(), add_notification(key_type="normal")  # no provider client exists
    deliver_sms = celery_app.tasks["deliver_sms"]
    deliver_sms([str(simulated), str(real)], 0)
    assert load(sessions, simulated).status == "delivered"
    [(headers, args)] = take_messages(celery_app, "retry-tasks")
    assert (args, headers["eta"]) == ([[str(real)], 1], None)

    deliver_sms([str(real)], 1)
    [(headers, args)] = take_messages(celery_app, "retry-tasks")
    assert args == [[str(real)], 2]
    delay = datetime.fromisoformat(headers["eta"]) - datetime.now(UTC)
    assert timedelta(seconds=290) < delay <= timedelta(seconds=300)
    assert load(sessions, real).status == "created"


def test_spent_retries_end_in_technical_failure(celery_app: Celery, add_notification: AddNotification,
                                                sessions: sessionmaker[Session]) -> None:
    real = add_notification(key_type="normal")
    celery_app.tasks["deliver_sms"]([str(real)], 48)
    row = load(sessions, real)
    assert row.status == "technical-failure"
    assert "max retries" in row.failure_reason
    assert take_messages(celery_app, "retry-tasks") == []


def test_a_real_worker_retries_until_the_retries_are_spent(
        celery_app: Celery, settings: Settings, clock: ManualClock, add_notification: AddNotification,
        sessions: sessionmaker[Session]) -> None:
    context = worker_context(celery_app)
    install_context(celery_app, replace(context, retry_policy=RetryPolicy(max_retries=2, delay_s=0)))
    real = add_notification(key_type="normal")
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING"):
        dispatch.enqueue_delivery(celery_app, "sms", [real])
        assert wait_for_statuses(sessions, [real], {"technical-failure"}) == {real: "technical-failure"}
    assert "after 3 attempts" in load(sessions, real).failure_reason


def test_a_duplicate_message_for_a_sent_notification_does_nothing(
        celery_app: Celery, clock: ManualClock, add_notification: AddNotification,
        sessions: sessionmaker[Session]) -> None:
    mmg = FakeSms(clock=clock)
    install_context(celery_app, replace(worker_context(celery_app), clients=NotificationProviderClients([mmg])))
    real = add_notification(key_type="normal")
    celery_app.tasks["deliver_sms"]([str(real)], 0)
    sent_at = clock.now()
    clock.advance(minutes=1)
    celery_app.tasks["deliver_sms"]([str(real)], 0)
    row = load(sessions, real)
    assert (row.status, row.sent_at, len(mmg.sent)) == ("sending", sent_at, 1)
    assert take_messages(celery_app, "retry-tasks") == []


def test_a_malformed_id_is_dropped_without_stopping_the_batch(
        celery_app: Celery, add_notification: AddNotification, sessions: sessionmaker[Session]) -> None:
    good = add_notification()
    celery_app.tasks["deliver_sms"](["not-a-uuid", str(good)], 0)
    assert load(sessions, good).status == "delivered"


def test_the_requeue_sweep_puts_stuck_notifications_back_on_their_queues(
        celery_app: Celery, clock: ManualClock, add_notification: AddNotification) -> None:
    old = clock.now() - timedelta(hours=2)
    sms = [add_notification(created_at=old) for _ in range(3)]
    email = add_notification(notification_type="email", created_at=old)
    assert celery_app.tasks["requeue_created_notifications"]() == 4
    [(_, sms_args)] = take_messages(celery_app, "send-sms-tasks")
    [(_, email_args)] = take_messages(celery_app, "send-email-tasks")
    assert sorted(sms_args[0]) == sorted(map(str, sms)) and email_args == [[str(email)], 0]
    assert celery_app.tasks["requeue_created_notifications"]() == 0


def test_a_notification_working_through_its_retries_is_not_given_a_second_retry_chain(
        celery_app: Celery, clock: ManualClock, add_notification: AddNotification) -> None:
    retrying = add_notification(key_type="normal", created_at=clock.now() - timedelta(hours=2))
    celery_app.tasks["deliver_sms"]([str(retrying)], 5)  # fails: no provider client exists
    assert len(take_messages(celery_app, "retry-tasks")) == 1
    clock.advance(minutes=59)
    assert celery_app.tasks["requeue_created_notifications"]() == 0
    clock.advance(minutes=2)  # an hour with no attempt: its chain was lost, so the sweeper takes it
    assert celery_app.tasks["requeue_created_notifications"]() == 1


def test_the_timeout_sweep_gives_up_on_old_sending_notifications(
        celery_app: Celery, clock: ManualClock, add_notification: AddNotification,
        sessions: sessionmaker[Session]) -> None:
    stale = add_notification(status="sending", created_at=clock.now() - timedelta(days=3, seconds=1))
    assert celery_app.tasks["timeout_sending_notifications"]() == 1
    assert load(sessions, stale).status == "temporary-failure"


def test_batches_are_split_for_the_queue() -> None:
    assert [len(b) for b in dispatch.chunked(range(250))] == [100, 100, 50]


def test_enqueue_refuses_a_channel_without_delivery(celery_app: Celery) -> None:
    with pytest.raises(ValueError, match="fax"):
        dispatch.enqueue_delivery(celery_app, "fax", ["x"])


def test_the_sweeps_run_on_the_periodic_queue_every_sweep_interval(settings: Settings) -> None:
    entries = schedule.beat_schedule(Settings(database_url=settings.database_url, sweep_interval_s=30))
    sweeps = {"requeue-created-notifications", "timeout-sending-notifications", "collate-letters"}
    routing = {"switch-sms-provider-on-slow-delivery", "tend-provider-weights-back"}
    assert set(entries) == sweeps | routing | {"purge-limit-counters"}
    for name in sweeps:
        assert entries[name]["schedule"] == timedelta(seconds=30)
    assert entries["purge-limit-counters"]["schedule"] == timedelta(hours=1)
    assert entries["switch-sms-provider-on-slow-delivery"]["schedule"] == timedelta(minutes=1)
    assert entries["tend-provider-weights-back"]["schedule"] == timedelta(minutes=5)
    assert {entry["options"]["queue"] for entry in entries.values()} == {"periodic-tasks"}


def test_the_hourly_purge_deletes_only_spent_limit_rows(celery_app: Celery, clock: ManualClock,
                                                       sessions: sessionmaker[Session]) -> None:
    now = clock.now().timestamp()
    rows = {"s-sms-2026-01-04-count": now - 1,  # yesterday's count, expired
            "s-sms-2026-01-05-count": now + 3600,  # today's
            "s-tokens-normal": now - 7200,  # a bucket idle for two hours: full again
            "t-tokens-normal": now - 5}  # a bucket in use
    with sessions.begin() as session:
        session.add_all(LimitCounter(key=key, value=1.0, stamp=stamp) for key, stamp in rows.items())
    assert celery_app.tasks["purge_limit_counters"]() == 2
    with sessions() as session:
        assert sorted(session.scalars(select(LimitCounter.key))) == ["s-sms-2026-01-05-count", "t-tokens-normal"]


def test_a_hand_off_the_database_refused_is_recorded_later_and_never_sent_again(
        celery_app: Celery, clock: ManualClock, add_notification: AddNotification,
        sessions: sessionmaker[Session]) -> None:
    mmg = FakeSms(clock=clock)
    install_context(celery_app, replace(worker_context(celery_app), clients=NotificationProviderClients([mmg])))
    engine: Engine = worker_context(celery_app).sessions.kw["bind"]  # the worker's own engine
    real = add_notification(key_type="normal")
    refusals = {"left": 2}  # the attempt's write and the first deferred one fail; the database then recovers

    def refuse_hand_offs(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("UPDATE notifications SET status") and "sent_at" in statement and refusals["left"]:
            refusals["left"] -= 1
            raise RuntimeError("database went away")

    event.listen(engine, "before_cursor_execute", refuse_hand_offs)
    try:
        celery_app.tasks["deliver_sms"]([str(real)], 0)
        [(_, args)] = take_messages(celery_app, "retry-tasks")
        assert args[0]["id"] == str(real) and args[0]["provider"] == "mmg"  # a record task, not a resend
        celery_app.tasks["record_hand_off"](*args)
        [(headers, retry_args)] = take_messages(celery_app, "retry-tasks")
        assert retry_args[1] == 1 and headers["eta"] is not None
        clock.advance(hours=2)  # the claim has lapsed and the sweeper's age has passed
        celery_app.tasks["record_hand_off"](*retry_args)
    finally:
        event.remove(engine, "before_cursor_execute", refuse_hand_offs)
    row = load(sessions, real)
    assert (row.status, row.sent_by, row.delivery_claimed_at) == ("sending", "mmg", None)
    assert requeue_created(celery_app, worker_context(celery_app)) == 0
    assert len(mmg.sent) == 1
