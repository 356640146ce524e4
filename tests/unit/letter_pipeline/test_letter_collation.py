"""When letters are due at DVLA: the daily cut-off in UK time (through the clock changes), the as-ready
safety net, and the sweeps that re-queue letters never prepared and give up on letters never checked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.delivery import letters
from clarion.delivery.letter_printing import collect_due, due_window, latest_cutoff, letters_due, stamp_collected
from tests.unit.delivery.factory import load
from tests.unit.letter_pipeline.conftest import PostLetter, Prepare
from tests.unit.letters.pdfs import valid_letter

HALF_FIVE = time(17, 30)
CLAIM = timedelta(minutes=5)


@pytest.mark.parametrize(("now", "cutoff"), [
    # winter: London is on GMT
    (datetime(2026, 1, 5, 17, 29, tzinfo=UTC), datetime(2026, 1, 4, 17, 30, tzinfo=UTC)),
    (datetime(2026, 1, 5, 17, 30, tzinfo=UTC), datetime(2026, 1, 5, 17, 30, tzinfo=UTC)),
    (datetime(2026, 1, 6, 0, 10, tzinfo=UTC), datetime(2026, 1, 5, 17, 30, tzinfo=UTC)),
    # summer: 17:30 in London is 16:30 UTC
    (datetime(2026, 7, 1, 16, 29, tzinfo=UTC), datetime(2026, 6, 30, 16, 30, tzinfo=UTC)),
    (datetime(2026, 7, 1, 16, 45, tzinfo=UTC), datetime(2026, 7, 1, 16, 30, tzinfo=UTC)),
    # the day the clocks go forward (29 March 2026): the day before was still GMT
    (datetime(2026, 3, 29, 12, 0, tzinfo=UTC), datetime(2026, 3, 28, 17, 30, tzinfo=UTC)),
    (datetime(2026, 3, 29, 16, 31, tzinfo=UTC), datetime(2026, 3, 29, 16, 30, tzinfo=UTC)),
])
def test_the_cutoff_is_half_past_five_in_london_whatever_the_season(now: datetime, cutoff: datetime) -> None:
    assert latest_cutoff(now, HALF_FIVE) == cutoff


def test_the_daily_window_ends_at_the_cutoff_and_the_as_ready_window_now() -> None:
    now = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
    settle = timedelta(minutes=5)
    assert due_window("daily", now, cutoff_time=HALF_FIVE, settle=settle) == (
        datetime(2026, 1, 5, 17, 30, tzinfo=UTC), now - settle)
    assert due_window("as_ready", now, cutoff_time=HALF_FIVE, settle=settle) == (now, now - settle)


def due(sessions: sessionmaker[Session], clock: ManualClock) -> set[uuid.UUID]:
    made_before, untouched_since = due_window("daily", clock.now(), cutoff_time=HALF_FIVE, settle=timedelta(0))
    with sessions.begin() as session:
        return set(letters_due(session, made_before=made_before, untouched_since=untouched_since, now=clock.now(),
                               lasts=CLAIM, limit=100))


def test_a_letter_made_after_the_cutoff_waits_for_the_next_days_batch(
        post_template_letter: PostLetter, prepare: Prepare, sessions: sessionmaker[Session],
        clock: ManualClock) -> None:
    clock.advance(hours=8)  # 17:00 London (the test clock starts at 09:00 UTC on a winter Monday)
    early = uuid.UUID(post_template_letter().json()["id"])
    clock.advance(minutes=45)  # 17:45: after the cut-off
    late = uuid.UUID(post_template_letter().json()["id"])
    prepare(early, late)
    clock.advance(minutes=1)
    assert due(sessions, clock) == {early}
    clock.advance(hours=23, minutes=29)  # 17:15 the next day: still before that day's cut-off
    assert due(sessions, clock) == {early}
    clock.advance(minutes=16)
    assert due(sessions, clock) == {early, late}


def test_only_ready_letters_of_live_keys_are_due(post_template_letter: PostLetter, post_precompiled: PostLetter,
                                                prepare: Prepare, sessions: sessionmaker[Session],
                                                clock: ManualClock) -> None:
    ready = uuid.UUID(post_template_letter().json()["id"])
    not_rendered = uuid.UUID(post_template_letter().json()["id"])
    unchecked = uuid.UUID(post_precompiled(valid_letter()).json()["id"])
    test_key = uuid.UUID(post_template_letter(key="test").json()["id"])
    prepare(ready, test_key)
    clock.advance(days=1)
    assert due(sessions, clock) == {ready}
    assert not_rendered not in due(sessions, clock) and unchecked not in due(sessions, clock)


def test_a_letter_never_prepared_is_requeued_once_an_hour(post_template_letter: PostLetter,
                                                          post_precompiled: PostLetter,
                                                          sessions: sessionmaker[Session], clock: ManualClock) -> None:
    ids = {uuid.UUID(post_template_letter().json()["id"]), uuid.UUID(post_precompiled(valid_letter()).json()["id"])}

    def sweep() -> set[uuid.UUID]:
        with sessions.begin() as session:
            return set(letters.requeue_unprepared(session, now=clock.now(), older_than=timedelta(hours=1),
                                                  lookback=timedelta(days=7), lasts=CLAIM, limit=100))
    assert sweep() == set()
    clock.advance(hours=1, seconds=1)
    assert sweep() == ids
    assert sweep() == set()  # stamped: not again within the hour
    clock.advance(hours=1, seconds=1)
    assert sweep() == ids


def test_a_precompiled_letter_never_checked_gives_up_after_the_timeout(
        post_precompiled: PostLetter, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    letter_id = uuid.UUID(post_precompiled(valid_letter()).json()["id"])
    with sessions.begin() as session:
        assert letters.give_up_on_unchecked(session, now=clock.now(), older_than=timedelta(days=3)) == 0
    clock.advance(days=3, seconds=1)
    with sessions.begin() as session:
        assert letters.give_up_on_unchecked(session, now=clock.now(), older_than=timedelta(days=3)) == 1
    row = load(sessions, letter_id)
    assert (row.status, row.failure_reason) == (
        "technical-failure", "the precompiled letter was never scanned and checked in time")


SETTLE = timedelta(minutes=10)


def collect(sessions: sessionmaker[Session], clock: ManualClock, *, limit: int = 100) -> list[uuid.UUID]:
    made_before, untouched_since = due_window("daily", clock.now(), cutoff_time=HALF_FIVE, settle=SETTLE)
    with sessions.begin() as session:
        return collect_due(session, made_before=made_before, untouched_since=untouched_since, now=clock.now(),
                           lasts=CLAIM, limit=limit)


def test_collected_letters_are_stamped_and_not_collected_again_until_they_settle(
        post_template_letter: PostLetter, prepare: Prepare, sessions: sessionmaker[Session],
        clock: ManualClock) -> None:
    letter_id = uuid.UUID(post_template_letter().json()["id"])
    prepare(letter_id)
    clock.advance(hours=9)  # 18:00, after the cut-off
    assert collect(sessions, clock) == [letter_id]
    assert load(sessions, letter_id).updated_at == clock.now()
    for _ in range(10):  # every minute's sweep while its message is on its way
        clock.advance(minutes=1)
        assert collect(sessions, clock) == []
    clock.advance(seconds=1)  # untouched for longer than the settle time: its message was lost
    assert collect(sessions, clock) == [letter_id]


def test_a_backlog_is_collected_oldest_first_and_each_letter_once(
        post_template_letter: PostLetter, prepare: Prepare, sessions: sessionmaker[Session],
        clock: ManualClock) -> None:
    ids = []
    for n in range(5):
        ids.append(uuid.UUID(post_template_letter(name=f"Person {n}").json()["id"]))
        clock.advance(minutes=1)
    prepare(*ids)
    clock.advance(hours=9)
    assert collect(sessions, clock, limit=2) == ids[:2]
    clock.advance(minutes=1)
    assert collect(sessions, clock, limit=2) == ids[2:4]
    clock.advance(minutes=1)
    assert collect(sessions, clock, limit=2) == ids[4:]
    clock.advance(minutes=1)
    assert collect(sessions, clock, limit=2) == []


def test_of_two_schedulers_that_found_the_same_letters_only_one_gets_them(
        post_template_letter: PostLetter, prepare: Prepare, sessions: sessionmaker[Session],
        clock: ManualClock) -> None:
    ids = [uuid.UUID(post_template_letter(name=f"Person {n}").json()["id"]) for n in range(2)]
    prepare(*ids)
    clock.advance(hours=9)
    made_before, untouched_since = due_window("daily", clock.now(), cutoff_time=HALF_FIVE, settle=SETTLE)
    with sessions.begin() as session:  # the first scheduler has selected them...
        found = letters_due(session, made_before=made_before, untouched_since=untouched_since, now=clock.now(),
                            lasts=CLAIM, limit=100)
    assert sorted(found) == sorted(ids)
    assert sorted(collect(sessions, clock)) == sorted(ids)  # ...when the second collects them
    with sessions.begin() as session:
        assert stamp_collected(session, found, untouched_since=untouched_since, now=clock.now(), lasts=CLAIM) == []
