"""Notify's limit arithmetic and key names (brief §7.6), which both backends share."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from clarion.limits import rules

SERVICE = uuid.UUID("11111111-1111-4111-8111-111111111111")


@pytest.mark.parametrize(("rate", "full"), [(1, 2), (3, 2), (4, 3), (30, 11), (2994, 999), (2997, 1000),
                                            (3000, 1000), (100_000, 1000)])
def test_a_bucket_holds_a_third_of_the_rate_plus_one_up_to_1000(rate: int, full: int) -> None:
    assert rules.bucket_max(rate) == full


def test_the_default_rate_refills_50_tokens_a_second() -> None:
    assert rules.refill_per_second(3000) == 50


@pytest.mark.parametrize("rate", [1, 2, 3, 30, 100, 3000, 100_000])
def test_any_empty_bucket_is_full_again_within_two_minutes(rate: int) -> None:
    seconds = rules.seconds_to_fill(rate)
    assert seconds * rules.refill_per_second(rate) >= rules.bucket_max(rate)
    assert seconds <= 120


@pytest.mark.parametrize("key_type", ["normal", "team", "test"])
def test_bucket_keys_are_notifys(key_type: str) -> None:
    assert rules.bucket_key(SERVICE, key_type) == f"{SERVICE}-tokens-{key_type}"


@pytest.mark.parametrize(("key_type", "channel", "key"), [
    ("normal", "sms", f"{SERVICE}-sms-2026-01-05-count"),
    ("team", "email", f"{SERVICE}-email-2026-01-05-count"),
    ("normal", "international_sms", f"{SERVICE}-international_sms-2026-01-05-count"),
    ("test", "letter", f"{SERVICE}-test-letter-2026-01-05-count"),
])
def test_daily_keys_are_notifys_with_test_keys_apart(key_type: str, channel: str, key: str) -> None:
    assert rules.daily_key(SERVICE, key_type, channel, date(2026, 1, 5)) == key


def test_a_daily_counter_expires_24_hours_after_its_day_ends() -> None:
    assert rules.daily_expiry(date(2026, 1, 5)) == datetime(2026, 1, 7, tzinfo=UTC).timestamp()
