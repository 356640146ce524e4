"""Provider selection: weighted for text messages, ordered for email and letters, from a short-lived cache."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Collection

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.routing import NoActiveProvider, ProviderCache, Router

DRAWS = 20_000
# Choosing is decided in Python from what the cache read: the variations run on SQLite only, to keep
# the suite fast; reading the rows (order, cache expiry) runs on both databases.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def cache(sessions: sessionmaker[Session], clock: ManualClock) -> ProviderCache:
    return ProviderCache(sessions, clock)


def router(cache: ProviderCache, *, configured: Collection[tuple[str, str]] | None = None) -> Router:
    return Router(cache, configured=configured, rng=random.Random(1234))


def draws(chooser: Router, count: int = DRAWS, **kwargs: object) -> Counter[str]:
    return Counter(chooser.choose("sms", **kwargs) for _ in range(count))  # type: ignore[arg-type]


# text messages: in proportion to the weights


def test_texts_are_shared_in_proportion_to_the_weights(cache: ProviderCache) -> None:
    chosen = draws(router(cache))
    assert 0.47 <= chosen["mmg"] / DRAWS <= 0.55
    assert chosen.keys() == {"mmg", "firetext"}


@SQLITE_ONLY
def test_an_uneven_split_is_followed(routing_db, cache: ProviderCache) -> None:
    routing_db.edit("mmg", priority=90)
    routing_db.edit("firetext", priority=10)
    assert 0.06 <= draws(router(cache))["firetext"] / DRAWS <= 0.14


@SQLITE_ONLY
def test_a_provider_at_weight_zero_gets_nothing_while_another_has_weight(routing_db, cache: ProviderCache) -> None:
    routing_db.edit("mmg", priority=0)
    routing_db.edit("firetext", priority=100)
    assert draws(router(cache), 1000) == {"firetext": 1000}


@SQLITE_ONLY
def test_a_lone_eligible_provider_is_used_even_at_weight_zero(routing_db, cache: ProviderCache) -> None:
    routing_db.edit("firetext", active=False)
    routing_db.edit("mmg", priority=0)
    assert draws(router(cache), 100) == {"mmg": 100}


@SQLITE_ONLY
def test_all_zero_weights_split_equally_instead_of_failing(routing_db, cache: ProviderCache) -> None:
    routing_db.edit("mmg", priority=0)
    routing_db.edit("firetext", priority=0)
    assert 0.45 <= draws(router(cache))["mmg"] / DRAWS <= 0.55


@SQLITE_ONLY
def test_an_inactive_provider_is_never_chosen(routing_db, cache: ProviderCache) -> None:
    routing_db.edit("mmg", active=False)
    assert draws(router(cache), 1000) == {"firetext": 1000}


@SQLITE_ONLY
def test_international_texts_go_only_to_providers_that_send_abroad(routing_db, cache: ProviderCache) -> None:
    routing_db.edit("firetext", supports_international=False)
    chooser = router(cache)
    assert draws(chooser, 1000, international=True) == {"mmg": 1000}
    assert draws(chooser, 1000).keys() == {"mmg", "firetext"}  # domestic texts still go to both


@SQLITE_ONLY
def test_international_texts_have_no_provider_when_none_that_sends_abroad_is_active(routing_db,
                                                                                   cache: ProviderCache) -> None:
    routing_db.edit("firetext", supports_international=False)
    routing_db.edit("mmg", active=False)
    chooser = router(cache)
    with pytest.raises(NoActiveProvider, match="no active international sms provider"):
        chooser.choose("sms", international=True)
    assert chooser.choose("sms") == "firetext"


# failover for the message itself


@SQLITE_ONLY
def test_avoid_picks_another_eligible_provider(cache: ProviderCache) -> None:
    assert draws(router(cache), 1000, avoid={"mmg"}) == {"firetext": 1000}


@SQLITE_ONLY
def test_avoid_picks_another_provider_even_at_weight_zero(routing_db, cache: ProviderCache) -> None:
    routing_db.edit("mmg", priority=100)
    routing_db.edit("firetext", priority=0)
    assert draws(router(cache), 100, avoid={"mmg"}) == {"firetext": 100}


@SQLITE_ONLY
def test_avoid_falls_back_to_the_avoided_provider_when_it_is_the_only_one(routing_db, cache: ProviderCache) -> None:
    routing_db.edit("firetext", active=False)
    assert draws(router(cache), 100, avoid={"mmg"}) == {"mmg": 100}


@SQLITE_ONLY
def test_avoid_does_not_pick_a_provider_that_cannot_send_abroad(routing_db, cache: ProviderCache) -> None:
    routing_db.edit("firetext", supports_international=False)
    assert draws(router(cache), 100, international=True, avoid={"mmg"}) == {"mmg": 100}


# configured clients


@SQLITE_ONLY
def test_providers_without_a_client_in_this_process_are_not_chosen(cache: ProviderCache) -> None:
    chooser = router(cache, configured={("firetext", "sms"), ("smtp", "email")})
    assert draws(chooser, 1000) == {"firetext": 1000}
    assert chooser.choose("email") == "smtp"


@SQLITE_ONLY
def test_no_configured_client_among_the_active_providers_is_no_provider(routing_db, cache: ProviderCache) -> None:
    routing_db.edit("firetext", active=False)
    with pytest.raises(NoActiveProvider):
        router(cache, configured={("firetext", "sms")}).choose("sms")


@SQLITE_ONLY
def test_no_active_provider_says_what_to_do(routing_db, cache: ProviderCache) -> None:
    routing_db.edit("mmg", active=False)
    routing_db.edit("firetext", active=False)
    message = "^no active sms provider; activate one and the notification is retried$"
    with pytest.raises(NoActiveProvider, match=message):
        router(cache).choose("sms")


@SQLITE_ONLY
def test_a_channel_without_providers_has_no_provider(cache: ProviderCache) -> None:
    with pytest.raises(NoActiveProvider, match="no active fax provider"):
        router(cache).choose("fax")


# email and letters: by priority


def test_email_goes_to_the_provider_with_the_highest_priority(cache: ProviderCache) -> None:
    chooser = router(cache)
    assert {chooser.choose("email") for _ in range(100)} == {"ses"}
    assert chooser.choose("letter") == "dvla"


@SQLITE_ONLY
def test_email_fails_over_to_the_next_priority_when_the_first_is_avoided(cache: ProviderCache) -> None:
    assert router(cache).choose("email", avoid={"ses"}) == "smtp"


@SQLITE_ONLY
def test_email_goes_to_the_next_priority_when_the_first_is_inactive(routing_db, cache: ProviderCache) -> None:
    routing_db.edit("ses", "email", active=False)
    assert router(cache).choose("email") == "smtp"


@SQLITE_ONLY
def test_email_follows_a_new_priority_order(routing_db, cache: ProviderCache) -> None:
    routing_db.edit("smtp", "email", priority=20)
    assert router(cache).choose("email") == "smtp"


# the cache


def test_a_weight_change_is_seen_once_the_cache_is_ttl_old(routing_db, sessions: sessionmaker[Session],
                                                           clock: ManualClock) -> None:
    cache = ProviderCache(sessions, clock, ttl_s=2)
    assert [(p.identifier, p.priority) for p in cache.channel("sms").providers] == [("mmg", 51), ("firetext", 49)]
    routing_db.edit("mmg", priority=10)
    routing_db.edit("firetext", priority=90)
    clock.advance(seconds=1.9)
    assert [(p.identifier, p.priority) for p in cache.channel("sms").providers] == [("mmg", 51), ("firetext", 49)]
    clock.advance(seconds=0.2)
    assert [(p.identifier, p.priority) for p in cache.channel("sms").providers] == [("firetext", 90), ("mmg", 10)]


@SQLITE_ONLY
def test_a_deactivated_provider_is_still_chosen_until_the_cache_expires(routing_db, sessions: sessionmaker[Session],
                                                                      clock: ManualClock) -> None:
    chooser = router(ProviderCache(sessions, clock, ttl_s=2))
    chooser.choose("sms")  # reads the weights
    routing_db.edit("firetext", active=False)
    assert "firetext" in draws(chooser, 200)
    clock.advance(seconds=2.1)
    assert draws(chooser, 200) == {"mmg": 200}


def test_choosing_does_not_query_the_database_per_message(engine: Engine, sessions: sessionmaker[Session],
                                                         clock: ManualClock) -> None:
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    chooser = router(ProviderCache(sessions, clock, ttl_s=2))
    draws(chooser, 1000)
    read_once = len(statements)
    assert 0 < read_once <= 2
    clock.advance(seconds=2.1)
    draws(chooser, 1000)
    assert len(statements) == 2 * read_once  # one more read of the rows, not one per message


@SQLITE_ONLY
def test_reading_the_weights_records_them_as_metrics(routing_db, cache: ProviderCache) -> None:
    routing_db.edit("mmg", priority=70)
    routing_db.edit("firetext", priority=30, active=False)
    cache.channel("sms")
    weight = "clarion_provider_weight"
    assert REGISTRY.get_sample_value(weight, {"notification_type": "sms", "provider": "mmg"}) == 70
    assert REGISTRY.get_sample_value(weight, {"notification_type": "sms", "provider": "firetext"}) == 0
