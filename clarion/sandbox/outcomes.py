"""What finally happens to a message, decided by its recipient: Notify's test numbers and addresses.

Text messages: a number ending 7700900002 fails permanently, one ending 7700900003 fails temporarily,
any other is delivered. Email: perm-fail@simulator.notify hard-bounces, temp-fail@simulator.notify
soft-bounces, complaint@simulator.notify is delivered and then complained about, any other is
delivered. The fail_receipts fault turns some would-be deliveries into temporary failures.
"""

from __future__ import annotations

import email.utils
import enum

__all__ = ["Outcome", "email_outcome", "sms_outcome", "with_receipt_fault"]

PERMANENT_FAILURE_NUMBER_END = "7700900002"
TEMPORARY_FAILURE_NUMBER_END = "7700900003"
SIMULATOR_ADDRESSES = {
    "perm-fail@simulator.notify": "permanent-failure",
    "temp-fail@simulator.notify": "temporary-failure",
    "complaint@simulator.notify": "complaint",
}


class Outcome(enum.Enum):
    """A message's final result as its receipt reports it."""

    DELIVERED = "delivered"
    PERMANENT_FAILURE = "permanent-failure"
    TEMPORARY_FAILURE = "temporary-failure"
    COMPLAINT = "complaint"  # email only: delivered, then the recipient complains


def sms_outcome(msisdn: str) -> Outcome:
    """The outcome for a text message to `msisdn` (digits, any prefix)."""
    if msisdn.endswith(PERMANENT_FAILURE_NUMBER_END):
        return Outcome.PERMANENT_FAILURE
    if msisdn.endswith(TEMPORARY_FAILURE_NUMBER_END):
        return Outcome.TEMPORARY_FAILURE
    return Outcome.DELIVERED


def email_outcome(address: str) -> Outcome:
    """The outcome for an email to `address` (bare or with a display name; case does not matter)."""
    _, bare = email.utils.parseaddr(address)
    return Outcome(SIMULATOR_ADDRESSES.get(bare.strip().lower(), "delivered"))


def with_receipt_fault(outcome: Outcome, *, fail: bool) -> Outcome:
    """A would-be delivery becomes a temporary failure when the fail_receipts fault picked it."""
    return Outcome.TEMPORARY_FAILURE if fail and outcome is Outcome.DELIVERED else outcome
