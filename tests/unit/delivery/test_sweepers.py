"""Sweepers: re-queue what is stuck in `created`, time out what no provider reported on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.delivery import sweepers
from tests.unit.delivery.factory import AddNotification, load

HOUR, WEEK = timedelta(hours=1), timedelta(days=7)


def requeue(sessions: sessionmaker[Session], clock: ManualClock, notification_type: str = "sms",
            limit: int = 100) -> list:
    with sessions.begin() as session:
        return sweepers.requeue_stuck_created(session, notification_type=notification_type, now=clock.now(),
                                              older_than=HOUR, lookback=WEEK, limit=limit)


def test_only_created_notifications_older_than_the_age_and_inside_the_lookback_are_requeued(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    now = clock.now()
    stuck = add_notification(created_at=now - timedelta(minutes=61))
    add_notification(created_at=now - timedelta(minutes=59))  # young: its message may still be queued
    add_notification(created_at=now - timedelta(days=8))  # beyond the lookback
    add_notification(created_at=now - timedelta(hours=2), status="sending")
    add_notification(notification_type="email", created_at=now - timedelta(hours=2))
    assert requeue(sessions, clock) == [stuck]


def test_emails_are_requeued_by_their_own_sweep(add_notification: AddNotification,
                                                sessions: sessionmaker[Session], clock: ManualClock) -> None:
    email = add_notification(notification_type="email", created_at=clock.now() - timedelta(hours=2))
    assert requeue(sessions, clock, "email") == [email]


def test_letters_are_not_swept(sessions: sessionmaker[Session], clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="letter"):
        requeue(sessions, clock, "letter")


def test_a_requeued_notification_is_not_requeued_again_until_the_age_passes_once_more(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    stuck = add_notification(created_at=clock.now() - timedelta(hours=2))
    assert requeue(sessions, clock) == [stuck]
    clock.advance(minutes=59)
    assert requeue(sessions, clock) == []
    clock.advance(minutes=2)
    assert requeue(sessions, clock) == [stuck]
    assert load(sessions, stuck).status == "created"


def test_the_oldest_are_requeued_first_up_to_the_limit(add_notification: AddNotification,
                                                       sessions: sessionmaker[Session], clock: ManualClock) -> None:
    ids = [add_notification(created_at=clock.now() - timedelta(hours=hours)) for hours in (2, 4, 3)]
    assert requeue(sessions, clock, limit=2) == [ids[1], ids[2]]
    assert requeue(sessions, clock, limit=2) == [ids[0]]


def test_sending_and_pending_past_the_timeout_become_temporary_failures(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    old = clock.now() - timedelta(hours=72, seconds=1)
    timed_out = [add_notification(status="sending", created_at=old),
                 add_notification(status="pending", created_at=old),
                 add_notification(notification_type="email", status="sending", created_at=old)]
    kept = {add_notification(status="sending", created_at=clock.now() - timedelta(hours=71)): "sending",
            add_notification(status="delivered", created_at=old): "delivered",
            add_notification(status="sent", created_at=old): "sent",
            add_notification(notification_type="letter", status="sending", created_at=old): "sending"}
    with sessions.begin() as session:
        assert sweepers.time_out_sending(session, now=clock.now(), older_than=timedelta(hours=72)) == 3
    for notification_id in timed_out:
        row = load(sessions, notification_id)
        assert (row.status, row.updated_at) == ("temporary-failure", clock.now())
    assert {i: load(sessions, i).status for i in kept} == kept


def test_the_timeout_works_through_every_batch(add_notification: AddNotification,
                                               sessions: sessionmaker[Session], clock: ManualClock) -> None:
    old = clock.now() - timedelta(days=4)
    ids = [add_notification(status="sending", created_at=old) for _ in range(5)]
    with sessions.begin() as session:
        assert sweepers.time_out_sending(session, now=clock.now(), older_than=timedelta(hours=72),
                                         batch_size=2) == 5
    assert {load(sessions, i).status for i in ids} == {"temporary-failure"}


def test_anything_never_handed_to_a_provider_within_the_timeout_ends_technical_failure(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    old = clock.now() - timedelta(hours=72, seconds=1)
    given_up = [add_notification(created_at=old), add_notification(notification_type="letter", created_at=old),
                add_notification(notification_type="email", key_type="normal", created_at=old)]
    young = add_notification(created_at=clock.now() - timedelta(hours=71))
    with sessions.begin() as session:
        assert sweepers.give_up_on_created(session, now=clock.now(), older_than=timedelta(hours=72)) == 3
    assert {load(sessions, i).status for i in given_up} == {"technical-failure"}
    assert load(sessions, young).status == "created"


def test_a_letter_dvla_never_reported_on_ends_technical_failure_after_a_week(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    now = clock.now()
    forgotten = add_notification(notification_type="letter", status="sending", sent_at=now - WEEK - HOUR)
    recent = add_notification(notification_type="letter", status="sending", sent_at=now - WEEK + HOUR)
    text = add_notification(status="sending", sent_at=now - WEEK - HOUR)  # texts have their own timeout
    with sessions.begin() as session:
        assert sweepers.time_out_letters(session, now=now, older_than=WEEK) == 1
    assert load(sessions, forgotten).status == "technical-failure"
    assert "DVLA" in load(sessions, forgotten).failure_reason
    assert (load(sessions, recent).status, load(sessions, text).status) == ("sending", "sending")
