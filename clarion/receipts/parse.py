"""Provider receipt bodies → `Receipt` values, or `MalformedReceipt` saying which field is wrong.

MMG posts JSON, Firetext a form, SES a JSON document inside an SNS message (reference/notify-brief.md
§5.1, §5.3). A `Receipt` keeps only what applying it needs: never the phone number or address the
provider quotes back, so nothing downstream can log one. It travels to the worker as a small dict
(`to_message` / `from_message`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs

import orjson

from clarion.receipts import maps

__all__ = ["COMPLAINT", "MalformedReceipt", "Receipt", "parse_firetext", "parse_mmg", "parse_ses"]

COMPLAINT = "complaint"  # Receipt.event of an SES complaint; every other receipt is a "status"
STATUS = "status"
PROVIDERS = frozenset({"mmg", "firetext", "ses"})
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
        receipt = cls(provider=values.pop("provider"), reference=values.pop("reference"),
                      status=values.pop("status", None), **values)
        if receipt.provider not in PROVIDERS:
            raise ValueError(f"unknown receipt provider {receipt.provider!r}")
        if receipt.channel == "sms":
            uuid.UUID(receipt.reference)
        return receipt


def parse_mmg(body: bytes) -> Receipt:
    """An MMG receipt from its JSON body: `status` and `CID` required, `substatus` refines the reason."""
    data = _json_object(body, "MMG")
    status, cid = _required(data, "status", "MMG"), _required(data, "CID", "MMG")
    substatus = _optional(data, "substatus", "MMG")
    outcome = _mapped("MMG", lambda: maps.mmg_outcome(status, substatus))
    return Receipt(provider="mmg", reference=_notification_id(cid, "MMG", "CID"), status=outcome.status,
                   reason=outcome.reason, code=substatus)


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
                   status=outcome.status, reason=outcome.reason, code=code)


def parse_ses(message: str) -> Receipt:
    """An SES receipt from the SNS `Message` string: a Delivery, a Bounce or a Complaint."""
    data = _json_object(message.encode(), "SES")
    kind = _required(data, "notificationType", "SES")
    mail = _section(data, "mail")
    reference = _required(mail, "messageId", "SES", where="mail.")
    mail_time = _timestamp(_required(mail, "timestamp", "SES", where="mail."), "mail.timestamp")
    if kind == "Complaint":
        complaint = _section(data, "complaint", required=False)
        when = _optional(complaint, "timestamp", "SES", where="complaint.")
        return Receipt(provider="ses", reference=reference, status=None, event=COMPLAINT, mail_time=mail_time,
                       feedback_id=_optional(complaint, "feedbackId", "SES", where="complaint."),
                       complaint_type=_optional(complaint, "complaintFeedbackType", "SES", where="complaint."),
                       complaint_time=_timestamp(when, "complaint.timestamp") if when else mail_time)
    bounce_type = None
    if kind == "Bounce":
        bounce_type = _required(_section(data, "bounce"), "bounceType", "SES", where="bounce.")
    outcome = _mapped("SES", lambda: maps.ses_outcome(kind, bounce_type))
    assert outcome is not None  # only a complaint has none, and it returned above
    return Receipt(provider="ses", reference=reference, status=outcome.status, reason=outcome.reason,
                   code=bounce_type, mail_time=mail_time)


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


def _optional(data: dict[str, Any], name: str, client: str, *, where: str = "") -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedReceipt(f"{client} callback failed: {where}{name} must be a string")
    return str(value)


def _required(data: dict[str, Any], name: str, client: str, *, where: str = "") -> str:
    value = _optional(data, name, client, where=where)
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
    except ValueError:
        raise MalformedReceipt(f"SES callback failed: {field} {value[:64]!r} is not an ISO 8601 time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
