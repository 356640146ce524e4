"""The load-balancing policy: weight moves off a failing or slow provider, under guards, and tends back.

Tests whose outcome depends on SQL (the lock, stored guard times, the fault-window upsert, the
slow-delivery query) run on both databases; variations of the same decisions run on SQLite only, to
keep the suite fast.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.db.engine import make_engine, make_sessions
from clarion.routing import Balancer, ProviderCache, RoutingRules
from clarion.routing.changes import ChangeKind
from tests.unit.delivery.factory import AddNotification

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
AFTER_GUARD = {"seconds": 61}
ACTOR = "clarion-routing"

AddText = Callable[..., UUID]


def faults_spaced_past_the_guard(balancer: Balancer, clock: ManualClock, provider: str, times: int,
                                 notification_type: str = "sms") -> None:
    for _ in range(times):
        assert balancer.report_faults(notification_type, provider)
        clock.advance(**AFTER_GUARD)


# faults


def test_a_fault_moves_ten_points_to_the_other_provider_and_records_it(balancer: Balancer, routing_db,
                                                                       clock: ManualClock) -> None:
    changes = balancer.report_faults("sms", "mmg")
    assert routing_db.weights() == {"mmg": 41, "firetext": 59}
    assert {(c.provider, c.old, c.new, c.kind) for c in changes} == {
        ("mmg", 51, 41, ChangeKind.FAULT), ("firetext", 49, 59, ChangeKind.FAULT)}
    history = {row.identifier: row for row in routing_db.history()}
    assert history.keys() == {"mmg", "firetext"}
    mmg, firetext = history["mmg"], history["firetext"]
    assert (mmg.previous_priority, mmg.priority, mmg.version) == (51, 41, 2)
    assert (firetext.previous_priority, firetext.priority, firetext.version) == (49, 59, 2)
    assert mmg.reason == "Reduced due to reduced reliability"
    assert firetext.reason == "Increased due to reduced reliability in other provider"
    assert {mmg.created_by, firetext.created_by} == {ACTOR}
    assert mmg.updated_at == firetext.updated_at == clock.now()
    rows = routing_db.providers()
    assert (rows["mmg"].version, rows["mmg"].reason, rows["mmg"].created_by) == (
        2, "Reduced due to reduced reliability", ACTOR)
    state = routing_db.state()
    assert state.changed_at == state.moved_away_at == clock.now()


@SQLITE_ONLY
def test_a_second_fault_within_the_guard_moves_nothing(balancer: Balancer, routing_db, clock: ManualClock) -> None:
    balancer.report_faults("sms", "mmg")
    clock.advance(seconds=59)
    assert balancer.report_faults("sms", "mmg") == []
    assert balancer.report_faults("sms", "firetext") == []  # the guard is the channel's, not the provider's
    assert routing_db.weights() == {"mmg": 41, "firetext": 59}
    clock.advance(seconds=2)
    assert balancer.report_faults("sms", "mmg")
    assert routing_db.weights() == {"mmg": 31, "firetext": 69}
    assert len(routing_db.history()) == 4


@SQLITE_ONLY
def test_a_blip_of_faults_moves_one_step(balancer: Balancer, routing_db, clock: ManualClock) -> None:
    for _ in range(5):  # five 5xx within a second
        balancer.report_faults("sms", "mmg")
        clock.advance(seconds=0.2)
    balancer.report_faults("sms", "mmg", count=5)
    assert routing_db.weights() == {"mmg": 41, "firetext": 59}
    assert len(routing_db.history()) == 2


@SQLITE_ONLY
def test_the_guard_is_per_channel(balancer: Balancer, routing_db) -> None:
    balancer.report_faults("sms", "mmg")
    assert balancer.report_faults("email", "ses")
    assert routing_db.weights("email") == {"ses": 0, "smtp": 15}


def test_with_a_threshold_only_the_fault_that_reaches_it_moves_weight(sessions: sessionmaker[Session], routing_db,
                                                                      clock: ManualClock) -> None:
    rules = RoutingRules(fault_threshold=3, fault_window=timedelta(seconds=60))
    # Two workers report into the same count.
    first, second = Balancer(sessions, clock, rules), Balancer(sessions, clock, rules)
    assert first.report_faults("sms", "mmg") == []
    clock.advance(seconds=10)
    assert second.report_faults("sms", "mmg") == []
    assert second.report_faults("sms", "firetext") == []  # counted for firetext, not mmg
    assert routing_db.weights() == {"mmg": 51, "firetext": 49}
    clock.advance(seconds=10)
    assert first.report_faults("sms", "mmg")
    assert routing_db.weights() == {"mmg": 41, "firetext": 59}


def test_a_fault_window_that_expired_restarts_the_count(sessions: sessionmaker[Session], routing_db,
                                                        clock: ManualClock) -> None:
    balancer = Balancer(sessions, clock, RoutingRules(fault_threshold=3, fault_window=timedelta(seconds=60)))
    balancer.report_faults("sms", "mmg", count=2)
    clock.advance(seconds=61)
    assert balancer.report_faults("sms", "mmg") == []  # a new window: one fault, not three
    clock.advance(seconds=30)
    assert balancer.report_faults("sms", "mmg") == []
    assert routing_db.weights() == {"mmg": 51, "firetext": 49}
    clock.advance(seconds=29)  # still inside the window opened 59 s ago
    assert balancer.report_faults("sms", "mmg")
    assert routing_db.weights() == {"mmg": 41, "firetext": 59}


@SQLITE_ONLY
def test_a_lone_active_provider_never_loses_weight(balancer: Balancer, routing_db, clock: ManualClock) -> None:
    routing_db.edit("firetext", active=False, priority=0)
    routing_db.edit("mmg", priority=100)
    assert balancer.report_faults("sms", "mmg") == []
    assert balancer.report_faults("sms", "firetext") == []  # an inactive provider has no weight to lose
    assert routing_db.weights() == {"mmg": 100}
    assert routing_db.history() == []


@SQLITE_ONLY
def test_weights_never_go_below_zero(balancer: Balancer, routing_db, clock: ManualClock) -> None:
    faults_spaced_past_the_guard(balancer, clock, "mmg", 6)  # 51 -> 41 -> 31 -> 21 -> 11 -> 1 -> 0
    assert routing_db.weights() == {"mmg": 0, "firetext": 100}
    last = {row.identifier: (row.previous_priority, row.priority) for row in routing_db.history()[-2:]}
    assert last == {"mmg": (1, 0), "firetext": (99, 100)}  # the last step moved the one point left
    assert balancer.report_faults("sms", "mmg") == []
    assert routing_db.weights() == {"mmg": 0, "firetext": 100}
    assert len(routing_db.history()) == 12


@SQLITE_ONLY
def test_an_email_fault_hands_the_first_place_to_the_next_provider(balancer: Balancer, routing_db) -> None:
    balancer.report_faults("email", "ses")
    assert routing_db.weights("email") == {"ses": 0, "smtp": 15}


@SQLITE_ONLY
def test_a_stale_cache_never_lets_a_second_change_through(sessions: sessionmaker[Session], routing_db,
                                                          clock: ManualClock, rules: RoutingRules) -> None:
    cache = ProviderCache(sessions, clock, ttl_s=600)
    cache.channel("sms")  # read before the other worker's change: no change known
    Balancer(sessions, clock, rules).report_faults("sms", "mmg")
    clock.advance(seconds=10)
    assert Balancer(sessions, clock, rules, cache=cache).report_faults("sms", "mmg") == []
    assert routing_db.weights() == {"mmg": 41, "firetext": 59}


# slow delivery


@pytest.fixture
def add_text(add_notification: AddNotification, clock: ManualClock) -> AddText:
    """A live-key text sent `sent_ago` ago by `provider`; delivered after `took`, or still `sending`."""

    def add(provider: str, *, took: timedelta | None = None, status: str = "delivered",
            sent_ago: timedelta = timedelta(minutes=8), key_type: str = "normal") -> UUID:
        sent_at = clock.now() - sent_ago
        return add_notification(notification_type="sms", key_type=key_type, status=status, sent_by=provider,
                                created_at=sent_at - timedelta(seconds=1), sent_at=sent_at,
                                updated_at=sent_at + (took or timedelta(0)))

    return add


SLOW, FAST = timedelta(minutes=5), timedelta(minutes=1)


def fast_texts(add_text: AddText, provider: str, count: int) -> None:
    for _ in range(count):
        add_text(provider, took=FAST)


def test_a_provider_with_30_percent_slow_texts_loses_ten_points(balancer: Balancer, routing_db, add_text: AddText,
                                                                clock: ManualClock) -> None:
    add_text("firetext", took=SLOW)
    fast_texts(add_text, "firetext", 2)  # one in three took more than 4 minutes
    fast_texts(add_text, "mmg", 2)
    changes = balancer.check_slow_delivery()
    assert routing_db.weights() == {"mmg": 61, "firetext": 39}
    assert {c.kind for c in changes} == {ChangeKind.SLOW_DELIVERY}
    reasons = {row.identifier: row.reason for row in routing_db.history()}
    assert reasons == {"firetext": "Reduced due to slow delivery",
                       "mmg": "Increased due to slow delivery in other provider"}
    assert routing_db.state().moved_away_at == clock.now()


def test_a_text_still_sending_after_four_minutes_is_slow(balancer: Balancer, routing_db, add_text: AddText) -> None:
    add_text("firetext", status="sending", sent_ago=timedelta(minutes=5))
    fast_texts(add_text, "firetext", 1)
    fast_texts(add_text, "mmg", 1)
    balancer.check_slow_delivery()
    assert routing_db.weights() == {"mmg": 61, "firetext": 39}


def test_texts_delivered_quickly_or_still_young_move_nothing(balancer: Balancer, routing_db,
                                                             add_text: AddText) -> None:
    add_text("firetext", status="sending", sent_ago=timedelta(minutes=2))  # not yet late
    add_text("firetext", status="pending", sent_ago=timedelta(minutes=3))
    add_text("firetext", took=timedelta(minutes=3, seconds=50))
    fast_texts(add_text, "mmg", 2)
    assert balancer.check_slow_delivery() == []
    assert routing_db.weights() == {"mmg": 51, "firetext": 49}


@SQLITE_ONLY
def test_exactly_30_percent_slow_is_slow(balancer: Balancer, routing_db, add_text: AddText) -> None:
    for _ in range(3):
        add_text("firetext", took=SLOW)
    fast_texts(add_text, "firetext", 7)
    fast_texts(add_text, "mmg", 1)
    assert balancer.check_slow_delivery()
    assert routing_db.weights() == {"mmg": 61, "firetext": 39}


@SQLITE_ONLY
def test_a_provider_under_30_percent_slow_is_not_slow(balancer: Balancer, routing_db, add_text: AddText) -> None:
    add_text("firetext", took=SLOW)
    fast_texts(add_text, "firetext", 3)  # one in four
    fast_texts(add_text, "mmg", 2)
    assert balancer.check_slow_delivery() == []


@SQLITE_ONLY
def test_nothing_moves_when_every_provider_is_slow(balancer: Balancer, routing_db, add_text: AddText) -> None:
    add_text("firetext", took=SLOW)
    add_text("mmg", status="sending", sent_ago=timedelta(minutes=6))
    assert balancer.check_slow_delivery() == []
    assert routing_db.weights() == {"mmg": 51, "firetext": 49}


@SQLITE_ONLY
def test_a_provider_that_sent_nothing_is_no_evidence_the_other_is_slow(balancer: Balancer, routing_db,
                                                                       add_text: AddText) -> None:
    add_text("firetext", took=SLOW)  # mmg sent nothing in the window
    assert balancer.check_slow_delivery() == []
    assert routing_db.weights() == {"mmg": 51, "firetext": 49}


@SQLITE_ONLY
def test_only_live_texts_sent_within_the_window_are_judged(balancer: Balancer, routing_db, add_text: AddText) -> None:
    add_text("firetext", took=SLOW, sent_ago=timedelta(minutes=11))
    add_text("firetext", took=SLOW, key_type="test")
    add_text("firetext", status="technical-failure", sent_ago=timedelta(minutes=6))
    fast_texts(add_text, "firetext", 1)
    fast_texts(add_text, "mmg", 1)
    assert balancer.check_slow_delivery() == []


@SQLITE_ONLY
def test_slow_delivery_waits_for_its_guard_and_then_repeats(balancer: Balancer, routing_db, add_text: AddText,
                                                            clock: ManualClock) -> None:
    add_text("firetext", took=SLOW, sent_ago=timedelta(minutes=6))  # still inside the window 2 minutes on
    add_text("mmg", took=FAST, sent_ago=timedelta(minutes=6))
    balancer.report_faults("sms", "mmg")  # 41/59
    clock.advance(seconds=30)
    assert balancer.check_slow_delivery() == []
    clock.advance(seconds=31)
    assert balancer.check_slow_delivery()
    assert routing_db.weights() == {"mmg": 51, "firetext": 49}
    clock.advance(seconds=30)
    assert balancer.check_slow_delivery() == []  # its own change starts the guard too
    clock.advance(seconds=31)
    assert balancer.check_slow_delivery()
    assert routing_db.weights() == {"mmg": 61, "firetext": 39}


# tend-back


def test_weights_tend_back_only_after_an_hour_without_a_change(balancer: Balancer, routing_db,
                                                                  clock: ManualClock) -> None:
    faults_spaced_past_the_guard(balancer, clock, "mmg", 3)  # 21/79, the last fault 61 s ago
    clock.advance(minutes=58)
    assert balancer.tend_back() == []
    clock.advance(minutes=1)
    changes = balancer.tend_back()
    assert routing_db.weights() == {"mmg": 31, "firetext": 69}  # both moved a step
    assert {(c.provider, c.old, c.new, c.kind) for c in changes} == {
        ("mmg", 21, 31, ChangeKind.TEND_BACK), ("firetext", 79, 69, ChangeKind.TEND_BACK)}
    assert {row.reason for row in routing_db.history()[-2:]} == {"Adjusted back to resting point"}
    state = routing_db.state()
    assert state.changed_at == clock.now()
    assert state.moved_away_at == clock.now() - timedelta(minutes=59, seconds=61)  # tending back is not moving away


@SQLITE_ONLY
def test_with_quiet_since_move_away_tend_back_steps_every_call_once_quiet(sessions: sessionmaker[Session],
                                                                          routing_db, clock: ManualClock) -> None:
    balancer = Balancer(sessions, clock, RoutingRules(tend_back_quiet_since="move-away"))
    faults_spaced_past_the_guard(balancer, clock, "mmg", 4)  # 11/89
    clock.advance(hours=1)
    seen = []
    for _ in range(5):  # the beat task, every 5 minutes
        balancer.tend_back()
        seen.append(routing_db.weights()["mmg"])
        clock.advance(minutes=5)
    assert seen == [21, 31, 41, 51, 51]
    assert routing_db.weights() == {"mmg": 51, "firetext": 49}


@SQLITE_ONLY
def test_by_default_each_tend_back_step_needs_another_quiet_hour(balancer: Balancer, routing_db,
                                                                 clock: ManualClock) -> None:
    faults_spaced_past_the_guard(balancer, clock, "mmg", 2)  # 31/69
    clock.advance(hours=1)
    assert balancer.tend_back()
    clock.advance(minutes=5)
    assert balancer.tend_back() == []
    assert routing_db.weights() == {"mmg": 41, "firetext": 59}
    clock.advance(minutes=55)
    assert balancer.tend_back()
    assert routing_db.weights() == {"mmg": 51, "firetext": 49}


@SQLITE_ONLY
def test_a_fault_while_tending_back_restarts_the_quiet_hour(balancer: Balancer, routing_db,
                                                            clock: ManualClock) -> None:
    faults_spaced_past_the_guard(balancer, clock, "mmg", 3)  # 21/79
    clock.advance(hours=1)
    balancer.tend_back()  # 31/69
    clock.advance(**AFTER_GUARD)
    balancer.report_faults("sms", "firetext")  # 41/59
    clock.advance(minutes=5)
    assert balancer.tend_back() == []
    clock.advance(hours=1)
    assert balancer.tend_back()
    assert routing_db.weights() == {"mmg": 51, "firetext": 49}


@SQLITE_ONLY
def test_tend_back_never_goes_past_the_resting_point(balancer: Balancer, routing_db) -> None:
    routing_db.edit("mmg", priority=46)  # behind routing's back: no guard time
    routing_db.edit("firetext", priority=54)
    balancer.tend_back()
    assert routing_db.weights() == {"mmg": 51, "firetext": 49}
    assert balancer.tend_back() == []
    assert len(routing_db.history()) == 2


@SQLITE_ONLY
def test_at_the_resting_points_tend_back_writes_nothing(balancer: Balancer, routing_db) -> None:
    assert balancer.tend_back() == []
    assert routing_db.history() == []
    assert routing_db.state().changed_at is None


@SQLITE_ONLY
def test_email_tends_back_to_its_order_after_a_fault(balancer: Balancer, routing_db, clock: ManualClock) -> None:
    balancer.report_faults("email", "ses")
    assert routing_db.weights("email") == {"ses": 0, "smtp": 15}
    clock.advance(minutes=30)
    assert balancer.tend_back("email") == []
    clock.advance(minutes=30)
    assert balancer.tend_back("email")
    assert routing_db.weights("email") == {"ses": 10, "smtp": 5}
    assert routing_db.weights() == {"mmg": 51, "firetext": 49}  # text messages untouched


# metrics


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@SQLITE_ONLY
def test_a_change_sets_the_weight_gauges_and_counts_one_change_per_provider(balancer: Balancer,
                                                                            clock: ManualClock) -> None:
    faults_before = sample("clarion_provider_weight_changes_total", notification_type="sms", reason="fault")
    tend_back_before = sample("clarion_provider_weight_changes_total", notification_type="sms", reason="tend-back")
    balancer.report_faults("sms", "mmg")
    assert sample("clarion_provider_weight", notification_type="sms", provider="mmg") == 41
    assert sample("clarion_provider_weight", notification_type="sms", provider="firetext") == 59
    assert sample("clarion_provider_weight_changes_total", notification_type="sms",
                  reason="fault") == faults_before + 2
    clock.advance(hours=1)
    balancer.tend_back()
    assert sample("clarion_provider_weight", notification_type="sms", provider="mmg") == 51
    assert sample("clarion_provider_weight_changes_total", notification_type="sms",
                  reason="tend-back") == tend_back_before + 2


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_fault_window_is_kept_in_utc_whatever_the_session_time_zone(database_url: str,
                                                                        clock: ManualClock) -> None:
    engine = make_engine(database_url, connect_args={"options": "-c timezone=America/New_York"})
    try:
        balancer = Balancer(make_sessions(engine), clock, RoutingRules(fault_threshold=3))
        balancer.report_faults("sms", "mmg")
        clock.advance(seconds=70)  # the first window expired: the next fault opens a new one
        for _ in range(2):
            assert balancer.report_faults("sms", "mmg") == []
            clock.advance(seconds=5)
        assert balancer.report_faults("sms", "mmg")  # the third fault of the new window
    finally:
        engine.dispose()
