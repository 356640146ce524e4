"""Provider receipt bodies → `Receipt` values, or `MalformedReceipt` saying which field is wrong.

MMG posts JSON, Firetext a form, SES a JSON document inside an SNS message (reference/notify-brief.md
§5.1, §5.3). A `Receipt` keeps only what applying it needs: never the phone number or address the
provider quotes back, so nothing downstream can log one. It travels to the worker as a small dict
(`to_message` / `from_message`).

Every value a receipt carries into a database column must fit it (an oversized value would fail the
worker's whole batch on PostgreSQL): a key the worker matches or deduplicates on (the SES message id,
the complaint's feedback id) is refused when it is longer than its column or holds a NUL character,
which PostgreSQL text cannot store; a value kept only for people to read (the complaint type) or one
that never reaches a column (the provider's detailed code) is cut down instead, since no real value
comes near the cap. `Receipt` checks the same limits itself, so a queue message that breaks them is
dropped on its own by the worker's decoder.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs

import orjson

from clarion.db.models import Complaint, Notification
from clarion.receipts import maps

__all__ = ["COMPLAINT", "MalformedReceipt", "Receipt", "parse_firetext", "parse_mmg", "parse_ses"]

COMPLAINT = "complaint"  # Receipt.event of an SES complaint; every other receipt is a "status"
STATUS = "status"
PROVIDERS = frozenset({"mmg", "firetext", "ses"})
# The columns these values are written to, so a migration that widens one widens the check with it.
MAX_REFERENCE = Notification.__table__.c.reference.type.length  # notifications.reference: the SES message id
MAX_FEEDBACK_ID = Complaint.__table__.c.ses_feedback_id.type.length
MAX_COMPLAINT_TYPE = Complaint.__table__.c.complaint_type.type.length
MAX_CODE = 32  # MMG substatus, Firetext code, SES bounceType: a few characters; kept in queue messages and logs
T = TypeVar("T")


class MalformedReceipt(ValueError):
    """The body cannot be a receipt; str() is the message for the provider, e.g. "MMG callback failed: CID missing"."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """One provider report about one notification, as the worker applies it."""

    provider: str  # "mmg", "firetext" or "ses": the notification's sent_by
    reference: str  # SMS: our notification id; SES: its MessageId (notifications.reference)
    status: str | None  # the status the provider's code maps to; None for a complaint
    reason: str | None = None  # the provider's text for a failure
    code: str | None = None  # the provider's detailed code (Firetext refines a failure with it)
    event: str = STATUS
    mail_time: datetime | None = None  # SES: when SES accepted the email (the retry window counts from it)
    feedback_id: str | None = None  # complaint only
    complaint_type: str | None = None
    complaint_time: datetime | None = None

    def __post_init__(self) -> None:
        # The parsers check fields with the provider's names first; this catches values built any other way.
        problem = _receipt_problem(self)
        if problem:
            raise MalformedReceipt(f"not a receipt: {problem}")

    @property
    def channel(self) -> str:
        """The notification type the receipt is about: "email" for SES, else "sms"."""
        return "email" if self.provider == "ses" else "sms"

    def to_message(self) -> dict[str, Any]:
        """A JSON-able dict for a queue message; None fields are left out."""
        message: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            if value is not None:
                message[field.name] = value
        return message

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Receipt:
        """The receipt `to_message` made; ValueError/TypeError/KeyError when it is not one."""
        values = dict(message)
        for name in ("mail_time", "complaint_time"):
            if values.get(name) is not None:
                values[name] = datetime.fromisoformat(values[name])
        return cls(provider=values.pop("provider"), reference=values.pop("reference"),
                   status=values.pop("status", None), **values)


def parse_mmg(body: bytes) -> Receipt:
    """An MMG receipt from its JSON body: `status` and `CID` required, `substatus` refines the reason."""
    data = _json_object(body, "MMG")
    status, cid = _required(data, "status", "MMG"), _required(data, "CID", "MMG")
    substatus = _optional(data, "substatus", "MMG")
    outcome = _mapped("MMG", lambda: maps.mmg_outcome(status, substatus))
    return Receipt(provider="mmg", reference=_notification_id(cid, "MMG", "CID"), status=outcome.status,
                   reason=outcome.reason, code=_clipped(substatus, MAX_CODE))


def parse_firetext(body: bytes) -> Receipt:
    """A Firetext receipt from its form body: `status` and `reference` required, `code` refines a failure."""
    try:
        form = {name: values[0] for name, values in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
    except UnicodeDecodeError:
        raise MalformedReceipt("Firetext callback failed: the body is not UTF-8 form data") from None
    status, reference = _required(form, "status", "Firetext"), _required(form, "reference", "Firetext")
    code = _optional(form, "code", "Firetext")
    outcome = _mapped("Firetext", lambda: maps.firetext_outcome(status, code))
    return Receipt(provider="firetext", reference=_notification_id(reference, "Firetext", "reference"),
                   status=outcome.status, reason=outcome.reason, code=_clipped(code, MAX_CODE))


def parse_ses(message: str) -> Receipt:
    """An SES receipt from the SNS `Message` string: a Delivery, a Bounce or a Complaint."""
    data = _json_object(message.encode(), "SES")
    kind = _required(data, "notificationType", "SES")
    mail = _section(data, "mail")
    reference = _required(mail, "messageId", "SES", where="mail.", max_length=MAX_REFERENCE)
    mail_time = _timestamp(_required(mail, "timestamp", "SES", where="mail."), "mail.timestamp")
    if kind == "Complaint":
        complaint = _section(data, "complaint", required=False)
        when = _optional(complaint, "timestamp", "SES", where="complaint.")
        return Receipt(provider="ses", reference=reference, status=None, event=COMPLAINT, mail_time=mail_time,
                       feedback_id=_optional(complaint, "feedbackId", "SES", where="complaint.",
                                             max_length=MAX_FEEDBACK_ID),
                       complaint_type=_clipped(_optional(complaint, "complaintFeedbackType", "SES",
                                                         where="complaint."), MAX_COMPLAINT_TYPE),
                       complaint_time=_timestamp(when, "complaint.timestamp") if when else mail_time)
    bounce_type = None
    if kind == "Bounce":
        bounce_type = _required(_section(data, "bounce"), "bounceType", "SES", where="bounce.")
    outcome = _mapped("SES", lambda: maps.ses_outcome(kind, bounce_type))
    assert outcome is not None  # only a complaint has none, and it returned above
    return Receipt(provider="ses", reference=reference, status=outcome.status, reason=outcome.reason,
                   code=_clipped(bounce_type, MAX_CODE), mail_time=mail_time)


def _json_object(body: bytes, client: str) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedReceipt(f"{client} callback failed: the body is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedReceipt(f"{client} callback failed: the body must be a JSON object")
    return data


def _section(data: dict[str, Any], name: str, *, required: bool = True) -> dict[str, Any]:
    section = data.get(name)
    if section is None and not required:
        return {}
    if not isinstance(section, dict):
        raise MalformedReceipt(f"SES callback failed: {name} missing")
    return section


def _optional(data: dict[str, Any], name: str, client: str, *, where: str = "",
              max_length: int | None = None) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedReceipt(f"{client} callback failed: {where}{name} must be a string")
    text = str(value)
    problem = _unstorable(text, max_length) if max_length is not None else None
    if problem:
        raise MalformedReceipt(f"{client} callback failed: {where}{name} {problem}")
    return text


def _required(data: dict[str, Any], name: str, client: str, *, where: str = "", max_length: int | None = None) -> str:
    value = _optional(data, name, client, where=where, max_length=max_length)
    if value is None:
        raise MalformedReceipt(f"{client} callback failed: {where}{name} missing")
    return value


def _notification_id(value: str, client: str, field: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise MalformedReceipt(f"{client} callback failed: {field} {value[:64]!r} is not a notification id") from None


def _mapped(client: str, lookup: Callable[[], T]) -> T:
    try:
        return lookup()
    except maps.UnknownProviderStatus as exc:
        raise MalformedReceipt(f"{client} callback failed: {exc}") from None


def _timestamp(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: an offset that moves year 1 or 9999 out of range
        raise MalformedReceipt(f"SES callback failed: {field} {value[:64]!r} is not an ISO 8601 time") from None


def _unstorable(text: str, max_length: int) -> str | None:
    """Why `text` cannot go into a column of `max_length` characters, or None when it can."""
    if len(text) > max_length:
        return f"is longer than {max_length} characters"
    if "\x00" in text:
        return "contains a NUL character"
    return None


def _clipped(text: str | None, max_length: int) -> str | None:
    """`text` without NUL characters and cut to `max_length`: for values kept only to be read."""
    return (text.replace("\x00", "")[:max_length] or None) if text is not None else None


def _receipt_problem(receipt: Receipt) -> str | None:
    """What makes these values no receipt the worker can apply, or None."""
    if receipt.provider not in PROVIDERS:
        return f"unknown provider {str(receipt.provider)[:32]!r}"
    if receipt.event not in (STATUS, COMPLAINT):
        return f"unknown event {str(receipt.event)[:32]!r}"
    if receipt.event == STATUS and not isinstance(receipt.status, str):
        return "a status receipt needs a status"
    if not isinstance(receipt.reference, str) or not receipt.reference:
        return "reference missing"
    if receipt.channel == "sms":
        try:
            uuid.UUID(receipt.reference)
        except ValueError:
            return "an SMS receipt's reference must be a notification id"
    for name, limit in (("reference", MAX_REFERENCE), ("feedback_id", MAX_FEEDBACK_ID),
                        ("complaint_type", MAX_COMPLAINT_TYPE), ("code", MAX_CODE)):
        value = getattr(receipt, name)
        if value is None:
            continue
        problem = _unstorable(value, limit) if isinstance(value, str) else "must be a string"
        if problem:
            return f"{name} {problem}"
    for name in ("mail_time", "complaint_time"):
        value = getattr(receipt, name)
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            return f"{name} must be a time with its UTC offset"
    return None
