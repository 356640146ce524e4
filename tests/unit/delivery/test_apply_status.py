"""apply_status follows the status table: every pair it lists moves, every other pair is refused."""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.delivery import apply, status
from tests.unit.delivery.factory import AddNotification, load

ALL = sorted(status.ALL_STATUSES)


@pytest.mark.parametrize("current", ALL)
def test_a_move_happens_exactly_when_the_status_table_allows_it(
        current: str, add_notification: AddNotification, sessions: sessionmaker[Session],
        clock: ManualClock) -> None:
    ids = {new: add_notification(status=current) for new in ALL}
    clock.advance(minutes=5)
    with sessions.begin() as session:
        moved = {new: apply.apply_status(session, ids[new], new, now=clock.now()) for new in ALL}
    for new in ALL:
        expected = status.can_move(current, new)
        row = load(sessions, ids[new])
        assert moved[new] is expected, f"{current} -> {new}"
        assert row.status == (new if expected else current)
        assert row.updated_at == (clock.now() if expected else None)


def test_a_receipt_never_moves_a_final_status(add_notification: AddNotification,
                                              sessions: sessionmaker[Session], clock: ManualClock) -> None:
    notification_id = add_notification(status="delivered")
    with sessions.begin() as session:
        assert not apply.apply_status(session, notification_id, "temporary-failure", now=clock.now())
    assert load(sessions, notification_id).status == "delivered"


def test_a_refused_move_is_logged_not_raised(add_notification: AddNotification, sessions: sessionmaker[Session],
                                             clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    notification_id = add_notification(status="permanent-failure")
    with caplog.at_level(logging.INFO, logger="clarion.delivery.apply"), sessions.begin() as session:
        apply.apply_status(session, notification_id, "delivered", now=clock.now())
    record = next(r for r in caplog.records if r.message == "status update refused")
    assert (record.status, record.new_status) == ("permanent-failure", "delivered")
    assert record.notification_id == str(notification_id)


def test_the_failure_reason_is_stored_with_the_new_status(add_notification: AddNotification,
                                                          sessions: sessionmaker[Session],
                                                          clock: ManualClock) -> None:
    notification_id = add_notification(status="sending")
    with sessions.begin() as session:
        apply.apply_status(session, notification_id, "permanent-failure", now=clock.now(),
                           failure_reason="Number does not exist")
    row = load(sessions, notification_id)
    assert (row.status, row.failure_reason) == ("permanent-failure", "Number does not exist")


def test_an_unknown_notification_is_refused(seeded: object, sessions: sessionmaker[Session],
                                            clock: ManualClock) -> None:
    with sessions.begin() as session:
        assert apply.apply_status(session, uuid.uuid4(), "delivered", now=clock.now()) is False


def test_a_writer_that_started_before_a_receipt_cannot_overwrite_it(
        add_notification: AddNotification, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    notification_id = add_notification(status="sending")
    with sessions.begin() as slow:  # e.g. a sweeper that started its transaction first
        slow.connection()
        with sessions.begin() as receipt:
            assert apply.apply_status(receipt, notification_id, "delivered", now=clock.now())
        assert not apply.apply_status(slow, notification_id, "temporary-failure", now=clock.now())
    assert load(sessions, notification_id).status == "delivered"
