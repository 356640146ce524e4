"""Notification statuses and the one table that says which status may follow which.

Final statuses never move. A receipt that arrives twice or out of order is refused by the table,
logged by the caller, and harmless (reference/notify-brief.md §4.3-4.4).
"""

from __future__ import annotations

from collections.abc import Mapping

CREATED = "created"
SENDING = "sending"
SENT = "sent"
PENDING = "pending"
DELIVERED = "delivered"
TECHNICAL_FAILURE = "technical-failure"
TEMPORARY_FAILURE = "temporary-failure"
PERMANENT_FAILURE = "permanent-failure"
CANCELLED = "cancelled"
PENDING_VIRUS_CHECK = "pending-virus-check"
VALIDATION_FAILED = "validation-failed"
VIRUS_SCAN_FAILED = "virus-scan-failed"
RETURNED_LETTER = "returned-letter"

ALL_STATUSES = frozenset({
    CREATED, SENDING, SENT, PENDING, DELIVERED, TECHNICAL_FAILURE, TEMPORARY_FAILURE, PERMANENT_FAILURE,
    CANCELLED, PENDING_VIRUS_CHECK, VALIDATION_FAILED, VIRUS_SCAN_FAILED, RETURNED_LETTER,
})
FAILED = frozenset({
    TECHNICAL_FAILURE, TEMPORARY_FAILURE, PERMANENT_FAILURE, VALIDATION_FAILED, VIRUS_SCAN_FAILED, RETURNED_LETTER,
})
COMPLETED = frozenset({
    SENT, DELIVERED, TECHNICAL_FAILURE, TEMPORARY_FAILURE, PERMANENT_FAILURE, RETURNED_LETTER, CANCELLED,
    VALIDATION_FAILED, VIRUS_SCAN_FAILED,
})
FINAL = COMPLETED - {SENT}  # `sent` still takes a receipt (international SMS, where the country sends one)

RECEIPT_OUTCOMES = frozenset({DELIVERED, PENDING, PERMANENT_FAILURE, TEMPORARY_FAILURE})
ALLOWED_NEXT: Mapping[str, frozenset[str]] = {
    PENDING_VIRUS_CHECK: frozenset({CREATED, VIRUS_SCAN_FAILED, VALIDATION_FAILED, TECHNICAL_FAILURE}),
    CREATED: RECEIPT_OUTCOMES | {SENDING, SENT, TECHNICAL_FAILURE, VALIDATION_FAILED, CANCELLED},
    SENDING: RECEIPT_OUTCOMES | {TECHNICAL_FAILURE},
    PENDING: RECEIPT_OUTCOMES - {PENDING},
    SENT: RECEIPT_OUTCOMES,
}

# The statuses a caller may filter on, and what each means in the database.
LETTER_API_STATUSES: Mapping[str, frozenset[str]] = {
    "accepted": frozenset({CREATED, SENDING}),
    "received": frozenset({DELIVERED, RETURNED_LETTER}),
}
FILTER_EXPANSIONS: Mapping[str, frozenset[str]] = {"failed": FAILED, **LETTER_API_STATUSES}


def can_move(current: str, new: str) -> bool:
    """Whether a notification in `current` may move to `new`; pairs not in the table are refused."""
    return new in ALLOWED_NEXT.get(current, frozenset())


def previous_statuses(new: str) -> frozenset[str]:
    """The statuses from which a notification may move to `new`."""
    return frozenset(current for current, allowed in ALLOWED_NEXT.items() if new in allowed)


def expand_filter(statuses: list[str]) -> set[str]:
    """The database statuses that an API status filter (`failed`, `accepted`, ...) stands for."""
    expanded: set[str] = set()
    for status in statuses:
        expanded |= FILTER_EXPANSIONS.get(status, frozenset({status}))
    return expanded


def api_status(notification_type: str, status: str) -> str:
    """The status as Notify's API shows it: letters say `accepted` and `received`."""
    if notification_type == "letter":
        for shown, stored in LETTER_API_STATUSES.items():
            if status in stored:
                return shown
    return status
