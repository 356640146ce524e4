"""The providers' status maps: every code of reference/notify-brief.md §1.2-1.4 means what Notify says."""

from __future__ import annotations

import pytest

from clarion.delivery.status import ALL_STATUSES
from clarion.receipts import maps

MMG_ROWS = [  # (status, substatus, our status, reason)
    ("2", "1", "permanent-failure", "Number does not exist"),
    ("2", "4", "permanent-failure", "Rejected by operator"),
    ("2", "5", "permanent-failure", "Unidentified Subscriber"),
    ("2", "9", "permanent-failure", "Undelivered"),
    ("2", "11", "permanent-failure", "Service for Subscriber suspended"),
    ("2", "12", "permanent-failure", "Illegal equipment"),
    ("2", "2049", "permanent-failure", "Subscriber IMSI blacklisted"),
    ("2", "2050", "permanent-failure", "Number blacklisted in do-not-disturb blacklist"),
    ("2", "2052", "permanent-failure", "Destination number blacklisted"),
    ("2", "2053", "permanent-failure", "Source address blacklisted"),
    ("3", "2", "delivered", None),
    ("3", "5", "delivered", None),
    ("4", "6", "temporary-failure", "Absent Subscriber"),
    ("4", "8", "temporary-failure", "Roaming not allowed"),
    ("4", "13", "temporary-failure", "SMS Not Supported"),
    ("4", "15", "temporary-failure", "Expired"),
    ("4", "27", "temporary-failure", "Absent Subscriber"),
    ("4", "29", "temporary-failure", "Invalid delivery report"),
    ("4", "32", "temporary-failure", "Delivery Failure"),
    ("5", "6", "permanent-failure", "Network out of coverage"),
    ("5", "8", "permanent-failure", "Incorrect number prefix"),
    ("5", "10", "permanent-failure", "Number on do-not-disturb service"),
    ("5", "11", "permanent-failure", "Sender id not registered"),
    ("5", "13", "permanent-failure", "Sender id blacklisted"),
    ("5", "14", "permanent-failure", "Destination number blacklisted"),
    ("5", "19", "permanent-failure", "Routing unavailable"),
    ("5", "20", "permanent-failure", "Rejected by anti-flooding mechanism"),
    ("5", "21", "permanent-failure", "System error"),
    ("5", "23", "permanent-failure", "Duplicate message id"),
    ("5", "24", "permanent-failure", "Message formatted incorrectly"),
    ("5", "25", "permanent-failure", "Message too long"),
    ("5", "51", "permanent-failure", "Missing recipient value"),
    ("5", "52", "permanent-failure", "Invalid destination"),
]

FIRETEXT_CODE_ROWS = [
    ("000", "temporary-failure", "No error reported"),
    ("101", "permanent-failure", "Unknown Subscriber"),
    ("102", "temporary-failure", "Absent Subscriber"),
    ("103", "temporary-failure", "Subscriber Busy"),
    ("104", "temporary-failure", "No Subscriber Memory"),
    ("201", "permanent-failure", "Invalid Number"),
    ("301", "permanent-failure", "SMS Not Supported"),
    ("302", "temporary-failure", "SMS Not Supported"),
    ("401", "permanent-failure", "Message Rejected"),
    ("900", "temporary-failure", "Routing Error"),
]


@pytest.mark.parametrize(("status", "substatus", "expected", "reason"), MMG_ROWS)
def test_every_mmg_status_and_substatus_maps_as_notify_maps_it(status: str, substatus: str, expected: str,
                                                              reason: str | None) -> None:
    assert maps.mmg_outcome(status, substatus) == maps.Outcome(expected, reason)


def test_the_mmg_table_has_exactly_notifys_rows() -> None:
    listed = {(status, substatus) for status, substatus, _, _ in MMG_ROWS}
    assert listed == {(status, sub) for status, subs in maps.MMG_SUBSTATUSES.items() for sub in subs}


def test_an_unknown_mmg_substatus_keeps_the_status_and_loses_only_the_reason() -> None:
    assert maps.mmg_outcome("4", "999") == maps.Outcome("temporary-failure", None)
    assert maps.mmg_outcome("2", None) == maps.Outcome("permanent-failure", None)


def test_an_unknown_mmg_status_is_refused_by_name() -> None:
    with pytest.raises(maps.UnknownProviderStatus, match="'7' is not an MMG status"):
        maps.mmg_outcome("7", "1")


@pytest.mark.parametrize(("status", "expected"), [("0", "delivered"), ("1", "permanent-failure"), ("2", "pending")])
def test_firetext_statuses_map_as_notify_maps_them(status: str, expected: str) -> None:
    assert maps.firetext_outcome(status, None).status == expected


@pytest.mark.parametrize(("code", "expected", "reason"), FIRETEXT_CODE_ROWS)
def test_every_firetext_detailed_code_has_notifys_status_and_reason(code: str, expected: str, reason: str) -> None:
    assert maps.firetext_code(code) == maps.Outcome(expected, reason)


def test_a_firetext_failure_carries_its_codes_text_and_a_delivery_none() -> None:
    assert maps.firetext_outcome("1", "101") == maps.Outcome("permanent-failure", "Unknown Subscriber")
    assert maps.firetext_outcome("0", "000") == maps.Outcome("delivered", None)
    assert maps.firetext_code("555") is None and maps.firetext_code(None) is None


def test_an_unknown_firetext_status_is_refused() -> None:
    with pytest.raises(maps.UnknownProviderStatus, match="not a Firetext status"):
        maps.firetext_outcome("3", None)


@pytest.mark.parametrize(("kind", "bounce_type", "expected"), [
    ("Delivery", None, maps.Outcome("delivered")),
    ("Bounce", "Permanent", maps.Outcome("permanent-failure", "Hard bounced")),
    ("Bounce", "Transient", maps.Outcome("temporary-failure", "Soft bounced")),
    ("Bounce", "Undetermined", maps.Outcome("temporary-failure", "Soft bounced")),
    ("Complaint", None, None),
])
def test_ses_events_map_as_notify_maps_them(kind: str, bounce_type: str | None,
                                            expected: maps.Outcome | None) -> None:
    assert maps.ses_outcome(kind, bounce_type) == expected


def test_an_unknown_ses_notification_type_is_refused() -> None:
    with pytest.raises(maps.UnknownProviderStatus, match="'Open' is not Delivery, Bounce or Complaint"):
        maps.ses_outcome("Open")


def test_every_status_a_map_can_produce_is_a_status_clarion_knows() -> None:
    produced = {*maps.MMG_STATUSES.values(), *maps.FIRETEXT_STATUSES.values(),
                *(outcome.status for outcome in maps.FIRETEXT_CODES.values()),
                *(outcome.status for outcome in maps.SES_BOUNCE_TYPES.values()), maps.SES_OTHER_BOUNCE.status,
                *(outcome.status for outcome in maps.SES_NOTIFICATION_TYPES.values() if outcome)}
    assert produced <= ALL_STATUSES
