"""An operator's change by hand: text weights rebalanced to 100, email taken as given, all recorded.

Writing the change runs on both databases; the variations of the decision run on SQLite only.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.manage import providers
from clarion.manage.errors import ManageError
from clarion.routing import Balancer
from clarion.routing.changes import ChangeKind, WeightChange

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ACTOR = "ada@example.gov.uk"
RESTING = {"mmg": 51, "firetext": 49}
SetProvider = Callable[..., list[WeightChange]]


@pytest.fixture
def set_provider(sessions: sessionmaker[Session], clock: ManualClock) -> SetProvider:
    """`clarion providers set IDENTIFIER ...` as the CLI does it: one transaction, the clock's time."""

    def set_(identifier: str, notification_type: str = "sms", *, reason: str = "Testing the failover",
             **values: object) -> list[WeightChange]:
        with sessions.begin() as session:
            provider = providers.get_provider(session, identifier, notification_type)
            return providers.set_provider(session, provider, reason=reason, actor=ACTOR, now=clock.now(),
                                          **values)  # type: ignore[arg-type]

    return set_


def test_setting_a_text_weight_rebalances_the_other_to_sum_100(set_provider: SetProvider, routing_db,
                                                               clock: ManualClock) -> None:
    changes = set_provider("mmg", priority=70)
    assert routing_db.weights() == {"mmg": 70, "firetext": 30}
    assert {(c.provider, c.old, c.new, c.kind, c.actor) for c in changes} == {
        ("mmg", 51, 70, ChangeKind.MANUAL, ACTOR), ("firetext", 49, 30, ChangeKind.MANUAL, ACTOR)}
    history = {row.identifier: row for row in routing_db.history()}
    assert {name: (row.previous_priority, row.priority, row.created_by, row.updated_at)
            for name, row in history.items()} == {
        "mmg": (51, 70, ACTOR, clock.now()), "firetext": (49, 30, ACTOR, clock.now())}
    assert history["mmg"].reason == "Testing the failover"
    assert history["firetext"].reason == "Rebalanced after mmg was changed by hand: Testing the failover"
    state = routing_db.state()
    assert state.changed_at == state.moved_away_at == clock.now()


def test_deactivating_a_text_provider_gives_its_share_to_the_others(set_provider: SetProvider, routing_db) -> None:
    set_provider("firetext", active=False)
    rows = routing_db.providers()
    assert (rows["mmg"].priority, rows["mmg"].active) == (100, True)
    assert (rows["firetext"].priority, rows["firetext"].active) == (0, False)
    assert {(row.identifier, row.previous_priority, row.priority, row.active) for row in routing_db.history()} == {
        ("mmg", 51, 100, True), ("firetext", 49, 0, False)}


@SQLITE_ONLY
def test_a_reactivated_provider_enters_at_its_resting_point(set_provider: SetProvider, routing_db) -> None:
    set_provider("firetext", active=False)
    set_provider("firetext", active=True, resting=RESTING)
    assert routing_db.weights() == {"mmg": 51, "firetext": 49}
    assert all(row.active for row in routing_db.providers().values())


@SQLITE_ONLY
def test_a_reactivated_provider_enters_at_the_weight_asked_for(set_provider: SetProvider, routing_db) -> None:
    set_provider("firetext", active=False)
    set_provider("firetext", active=True, priority=30)
    assert routing_db.weights() == {"mmg": 70, "firetext": 30}


@SQLITE_ONLY
def test_a_lone_active_text_provider_has_all_100(set_provider: SetProvider, routing_db) -> None:
    set_provider("firetext", active=False)
    set_provider("mmg", priority=60)
    assert routing_db.weights() == {"mmg": 100}


@SQLITE_ONLY
def test_the_last_active_provider_of_a_channel_cannot_be_deactivated(set_provider: SetProvider, routing_db) -> None:
    set_provider("firetext", active=False)
    with pytest.raises(ManageError, match="mmg is the only active sms provider"):
        set_provider("mmg", active=False)
    assert routing_db.weights() == {"mmg": 100}


@SQLITE_ONLY
def test_an_email_priority_is_set_as_given(set_provider: SetProvider, routing_db) -> None:
    changes = set_provider("ses", "email", priority=3)
    assert routing_db.weights("email") == {"ses": 3, "smtp": 5}
    assert [(c.provider, c.old, c.new) for c in changes] == [("ses", 10, 3)]
    assert [(row.identifier, row.previous_priority, row.priority) for row in routing_db.history("email")] == [
        ("ses", 10, 3)]


@SQLITE_ONLY
def test_a_fault_soon_after_a_change_by_hand_moves_nothing(set_provider: SetProvider, balancer: Balancer,
                                                           routing_db, clock: ManualClock) -> None:
    set_provider("mmg", priority=70)
    clock.advance(seconds=30)
    assert balancer.report_faults("sms", "mmg") == []
    assert routing_db.weights() == {"mmg": 70, "firetext": 30}
    clock.advance(seconds=31)
    assert balancer.report_faults("sms", "mmg")
    assert routing_db.weights() == {"mmg": 60, "firetext": 40}  # automatic changes continue from the new values


@SQLITE_ONLY
def test_weights_set_by_hand_tend_back_after_the_quiet_hour(set_provider: SetProvider, balancer: Balancer,
                                                            routing_db, clock: ManualClock) -> None:
    set_provider("mmg", priority=70)
    clock.advance(minutes=59)
    assert balancer.tend_back() == []
    clock.advance(minutes=1)
    balancer.tend_back()
    assert routing_db.weights() == {"mmg": 60, "firetext": 40}


@SQLITE_ONLY
@pytest.mark.parametrize(("values", "message"), [
    ({"priority": 70, "reason": " "}, "reason"),
    ({}, "nothing to change"),
    ({"priority": 101}, "between 0 and 100"),
])
def test_a_change_by_hand_needs_a_reason_and_something_valid_to_change(set_provider: SetProvider, routing_db,
                                                                       values: dict, message: str) -> None:
    with pytest.raises(ManageError, match=message):
        set_provider("mmg", **values)
    assert routing_db.weights() == {"mmg": 51, "firetext": 49}
    assert routing_db.history() == []


def test_a_change_by_hand_starts_from_weights_another_worker_changed_after_the_provider_was_read(
        sessions: sessionmaker[Session], balancer: Balancer, routing_db, clock: ManualClock) -> None:
    with sessions.begin() as session:
        mmg = providers.get_provider(session, "mmg", "sms")  # the CLI reads the row ...
        balancer.report_faults("sms", "mmg")  # ... a worker moves weight off it (41/59) ...
        clock.advance(minutes=2)
        providers.set_provider(session, mmg, priority=70, reason="Testing", actor=ACTOR, now=clock.now())
    assert routing_db.weights() == {"mmg": 70, "firetext": 30}
    assert [(row.identifier, row.version, row.previous_priority) for row in routing_db.history()][-2:] == [
        ("firetext", 3, 59), ("mmg", 3, 41)]
