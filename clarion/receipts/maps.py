"""What each provider's delivery-receipt codes mean, as data (reference/notify-brief.md §1.2-1.4).

MMG reports a `status` and a numeric `substatus`; Firetext a `status` and a detailed `code`, which
refines a failure into permanent or temporary; SES a notification type (Delivery, Bounce, Complaint)
and, for a bounce, its `bounceType`. Each lookup returns an `Outcome`: the clarion status and, for a
failure, the provider's text for it (kept as the notification's `failure_reason`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from clarion.delivery.status import DELIVERED, FAILED, PENDING, PERMANENT_FAILURE, TEMPORARY_FAILURE

__all__ = [
    "FIRETEXT_CODES", "FIRETEXT_STATUSES", "MMG_STATUSES", "MMG_SUBSTATUSES", "Outcome", "SES_BOUNCE_TYPES",
    "SES_NOTIFICATION_TYPES", "UnknownProviderStatus", "firetext_code", "firetext_outcome", "mmg_outcome",
    "ses_outcome",
]


@dataclass(frozen=True, slots=True)
class Outcome:
    """A clarion status, and the provider's words for why, when it is a failure."""

    status: str
    reason: str | None = None


class UnknownProviderStatus(KeyError):
    """The provider sent a status code no table here knows; str() says which."""

    def __str__(self) -> str:
        return str(self.args[0])


MMG_STATUSES: Mapping[str, str] = {
    "2": PERMANENT_FAILURE,
    "3": DELIVERED,
    "4": TEMPORARY_FAILURE,
    "5": PERMANENT_FAILURE,
}
MMG_SUBSTATUSES: Mapping[str, Mapping[str, str]] = {
    "2": {"1": "Number does not exist", "4": "Rejected by operator", "5": "Unidentified Subscriber",
          "9": "Undelivered", "11": "Service for Subscriber suspended", "12": "Illegal equipment",
          "2049": "Subscriber IMSI blacklisted", "2050": "Number blacklisted in do-not-disturb blacklist",
          "2052": "Destination number blacklisted", "2053": "Source address blacklisted"},
    "3": {"2": "Delivered to operator", "5": "Delivered to handset"},
    "4": {"6": "Absent Subscriber", "8": "Roaming not allowed", "13": "SMS Not Supported", "15": "Expired",
          "27": "Absent Subscriber", "29": "Invalid delivery report", "32": "Delivery Failure"},
    "5": {"6": "Network out of coverage", "8": "Incorrect number prefix", "10": "Number on do-not-disturb service",
          "11": "Sender id not registered", "13": "Sender id blacklisted", "14": "Destination number blacklisted",
          "19": "Routing unavailable", "20": "Rejected by anti-flooding mechanism", "21": "System error",
          "23": "Duplicate message id", "24": "Message formatted incorrectly", "25": "Message too long",
          "51": "Missing recipient value", "52": "Invalid destination"},
}

FIRETEXT_STATUSES: Mapping[str, str] = {"0": DELIVERED, "1": PERMANENT_FAILURE, "2": PENDING}
# A failure's detailed code decides whether it is worth trying that number again.
FIRETEXT_CODES: Mapping[str, Outcome] = {
    "000": Outcome(TEMPORARY_FAILURE, "No error reported"),
    "101": Outcome(PERMANENT_FAILURE, "Unknown Subscriber"),
    "102": Outcome(TEMPORARY_FAILURE, "Absent Subscriber"),
    "103": Outcome(TEMPORARY_FAILURE, "Subscriber Busy"),
    "104": Outcome(TEMPORARY_FAILURE, "No Subscriber Memory"),
    "201": Outcome(PERMANENT_FAILURE, "Invalid Number"),
    "301": Outcome(PERMANENT_FAILURE, "SMS Not Supported"),
    "302": Outcome(TEMPORARY_FAILURE, "SMS Not Supported"),
    "401": Outcome(PERMANENT_FAILURE, "Message Rejected"),
    "900": Outcome(TEMPORARY_FAILURE, "Routing Error"),
}

SES_BOUNCE_TYPES: Mapping[str, Outcome] = {"Permanent": Outcome(PERMANENT_FAILURE, "Hard bounced")}
SES_OTHER_BOUNCE = Outcome(TEMPORARY_FAILURE, "Soft bounced")  # Transient, Undetermined, anything new
# A complaint never changes the status (it is recorded apart); None marks it here.
SES_NOTIFICATION_TYPES: Mapping[str, Outcome | None] = {"Delivery": Outcome(DELIVERED), "Complaint": None}


def mmg_outcome(status: str, substatus: str | None) -> Outcome:
    """The outcome of an MMG receipt; an unknown substatus only loses the reason."""
    if status not in MMG_STATUSES:
        raise UnknownProviderStatus(f"status {status!r} is not an MMG status ({', '.join(MMG_STATUSES)})")
    new_status = MMG_STATUSES[status]
    reason = MMG_SUBSTATUSES[status].get(substatus or "") if new_status in FAILED else None
    return Outcome(new_status, reason)


def firetext_outcome(status: str, code: str | None) -> Outcome:
    """The outcome of a Firetext receipt before refinement: its status, and the code's text for a failure."""
    if status not in FIRETEXT_STATUSES:
        raise UnknownProviderStatus(f"status {status!r} is not a Firetext status ({', '.join(FIRETEXT_STATUSES)})")
    new_status = FIRETEXT_STATUSES[status]
    known = firetext_code(code)
    return Outcome(new_status, known.reason if known and new_status in FAILED else None)


def firetext_code(code: str | None) -> Outcome | None:
    """What a Firetext detailed code says about a failure; None when there is no code or it is unknown."""
    return FIRETEXT_CODES.get(code) if code else None


def ses_outcome(notification_type: str, bounce_type: str | None = None) -> Outcome | None:
    """The outcome of an SES notification; None for a complaint, which never moves the status."""
    if notification_type == "Bounce":
        return SES_BOUNCE_TYPES.get(bounce_type or "", SES_OTHER_BOUNCE)
    if notification_type not in SES_NOTIFICATION_TYPES:
        raise UnknownProviderStatus(f"notificationType {notification_type!r} is not Delivery, Bounce or Complaint")
    return SES_NOTIFICATION_TYPES[notification_type]
