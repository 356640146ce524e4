"""Outcomes by recipient, receipt targets and times, duplicate memory, and the SNS string to sign."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from clarion.sandbox.outcomes import Outcome, email_outcome, sms_outcome, with_receipt_fault
from clarion.sandbox.receipts import BadReceiptUrl, ReceiptTarget, provider_local_time, receipt_target
from clarion.sandbox.recent import RecentKeys
from clarion.sandbox.sns_signing import string_to_sign

FALLBACK = ReceiptTarget("http://127.0.0.1:6011/notifications/sms/mmg", ("notify", "pw"))


@pytest.mark.parametrize(("number", "outcome"), [
    ("447700900002", Outcome.PERMANENT_FAILURE),
    ("447700900003", Outcome.TEMPORARY_FAILURE),
    ("3537700900002", Outcome.PERMANENT_FAILURE),
    ("447700900000", Outcome.DELIVERED),
    ("447700900023", Outcome.DELIVERED),
])
def test_notifys_test_numbers_decide_a_text_messages_outcome(number: str, outcome: Outcome) -> None:
    assert sms_outcome(number) is outcome


@pytest.mark.parametrize(("address", "outcome"), [
    ("perm-fail@simulator.notify", Outcome.PERMANENT_FAILURE),
    ("Temp-Fail@Simulator.Notify", Outcome.TEMPORARY_FAILURE),
    ("Someone <complaint@simulator.notify>", Outcome.COMPLAINT),
    ("perm-fail@example.com", Outcome.DELIVERED),
])
def test_notifys_test_addresses_decide_an_emails_outcome(address: str, outcome: Outcome) -> None:
    assert email_outcome(address) is outcome


def test_the_receipt_fault_only_turns_deliveries_into_temporary_failures() -> None:
    assert with_receipt_fault(Outcome.DELIVERED, fail=True) is Outcome.TEMPORARY_FAILURE
    assert with_receipt_fault(Outcome.PERMANENT_FAILURE, fail=True) is Outcome.PERMANENT_FAILURE
    assert with_receipt_fault(Outcome.DELIVERED, fail=False) is Outcome.DELIVERED


def test_credentials_in_a_receipt_url_become_basic_auth_and_leave_the_url() -> None:
    target = receipt_target("https://notify:p%40ss%3Aword@receipts.example:8443/notifications/sms/mmg?x=1",
                            fallback=FALLBACK)

    assert target == ReceiptTarget("https://receipts.example:8443/notifications/sms/mmg?x=1", ("notify", "p@ss:word"))


def test_a_receipt_url_without_credentials_gets_no_auth_and_no_url_gets_the_fallback() -> None:
    assert receipt_target("http://127.0.0.1:9/r", fallback=FALLBACK) == ReceiptTarget("http://127.0.0.1:9/r")
    assert receipt_target(None, fallback=FALLBACK) is FALLBACK
    assert receipt_target("", fallback=FALLBACK) is FALLBACK


@pytest.mark.parametrize("url", ["ftp://host/x", "/relative/path", "http://", "nonsense"])
def test_a_receipt_url_a_provider_cannot_post_to_is_refused(url: str) -> None:
    with pytest.raises(BadReceiptUrl):
        receipt_target(url, fallback=FALLBACK)


@pytest.mark.parametrize(("moment", "local"), [
    (datetime(2026, 1, 5, 9, 0, 5, tzinfo=UTC), "2026-01-05 09:00:05"),   # GMT
    (datetime(2026, 7, 5, 9, 0, 5, tzinfo=UTC), "2026-07-05 10:00:05"),   # BST
])
def test_sms_receipt_times_are_uk_local_time_without_an_offset(moment: datetime, local: str) -> None:
    assert provider_local_time(moment) == local


def test_recent_keys_forget_the_oldest_beyond_their_capacity() -> None:
    recent: RecentKeys[int] = RecentKeys(capacity=4)
    for number in range(6):
        recent.remember(f"key-{number}", number)

    assert recent.get("key-0") is None
    assert recent.get("key-5") == 5
    assert recent.get("key-2") == 2
    assert len(recent) <= 4


def test_the_string_to_sign_follows_awss_key_order_per_message_type() -> None:
    notification = {"Type": "Notification", "MessageId": "m", "TopicArn": "t", "Message": "{}",
                    "Timestamp": "ts", "UnsubscribeURL": "u", "SignatureVersion": "1"}
    confirmation = {"Type": "SubscriptionConfirmation", "MessageId": "m", "TopicArn": "t", "Message": "hi",
                    "Timestamp": "ts", "Token": "tok", "SubscribeURL": "s"}

    assert string_to_sign(notification) == b"Message\n{}\nMessageId\nm\nTimestamp\nts\nTopicArn\nt\nType\nNotification\n"
    assert string_to_sign({**notification, "Subject": "S"}) == (
        b"Message\n{}\nMessageId\nm\nSubject\nS\nTimestamp\nts\nTopicArn\nt\nType\nNotification\n")
    assert string_to_sign(confirmation) == (
        b"Message\nhi\nMessageId\nm\nSubscribeURL\ns\nTimestamp\nts\nToken\ntok\nTopicArn\nt\n"
        b"Type\nSubscriptionConfirmation\n")
