"""Request bodies and query strings, parsed with orjson and checked by hand against Notify's schemas.

The messages are the ones Notify's jsonschema validation produces (quotes removed), one per problem:
"phone_number is a required property", "template_id is not a valid UUID", "personalisation 5 is not
of type object", "Additional properties are not allowed (x was unexpected)". Every problem raises
`intake.RequestInvalid`, answered 400 ValidationError.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.requests import Request

from clarion.api.errors import InvalidJson
from clarion.delivery.intake import EmailRequest, LetterRequest, PrecompiledLetterRequest, RequestInvalid, SmsRequest
from clarion.recipients.email import validate_email_address
from clarion.recipients.errors import InvalidRecipient
from clarion.recipients.phone import validate_phone_number

__all__ = [
    "ListQuery", "parse_email", "parse_letter", "parse_list_query", "parse_older_than_query", "parse_path_uuid",
    "parse_preview", "parse_sms", "parse_template_type_query", "parse_uuid", "read_json",
]

MAX_REFERENCE_LENGTH = 1000
MAX_SHOWN = 100  # characters of a bad value repeated in an error message
PHONE_NUMBER_LENGTH = 255  # however it is spaced, a longer string is not a phone number
# Notify's order, as its "is not one of" messages list them.
NOTIFICATION_STATUS_TYPES = (
    "cancelled", "created", "sending", "sent", "delivered", "pending", "failed", "technical-failure",
    "temporary-failure", "permanent-failure", "pending-virus-check", "validation-failed", "virus-scan-failed",
    "returned-letter", "accepted", "received",
)
TEMPLATE_TYPES = ("sms", "email", "letter")
INCLUDE_JOBS = ("true", "True")
SMS_FIELDS = ("phone_number", "template_id", "personalisation", "reference", "scheduled_for", "sms_sender_id")
EMAIL_FIELDS = ("email_address", "template_id", "personalisation", "reference", "scheduled_for",
                "email_reply_to_id", "one_click_unsubscribe_url", "sanitise_content_for")
LETTER_FIELDS = ("template_id", "personalisation", "reference")
PRECOMPILED_FIELDS = ("reference", "content", "postage")
PRECOMPILED_POSTAGE = ("first", "second", "economy")
SCHEDULED_FOR_FORMAT = ("datetime format is invalid. It must be a valid ISO8601 date time format, "
                        "https://en.wikipedia.org/wiki/ISO_8601")


async def read_json(request: Request) -> Any:
    """The body as JSON; 400 "Invalid JSON supplied in POST data" otherwise.

    A falsy document (null, false, 0, "", [] or {}) counts as an empty object, as Notify's
    `request.get_json(force=True) or {}` does, so it is answered with the missing fields.
    """
    try:
        return orjson.loads(await request.body()) or {}
    except orjson.JSONDecodeError:
        raise InvalidJson() from None


def show(value: Any) -> str:
    """A value the way Notify's messages repeat it (Python's repr without quotes), cut short if long."""
    text = (value if isinstance(value, str) else repr(value)).replace("'", "")
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


class Problems:
    """Collects one message per problem, then raises them together."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(message)

    def raise_if_any(self) -> None:
        if self.messages:
            raise RequestInvalid(self.messages)


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise RequestInvalid([f"{show(body)} is not of type object"])
    return body


def _no_nul(value: Any, name: str, problems: Problems) -> None:
    # PostgreSQL text cannot hold U+0000; refuse it here rather than fail on insert.
    if isinstance(value, str):
        if "\x00" in value:
            problems.add(f"{name} must not contain the character U+0000")
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key if "\x00" in key else item, name, problems)
    elif isinstance(value, list):
        for item in value:
            _no_nul(item, name, problems)


def _check_fields(body: dict[str, Any], allowed: Iterable[str], required: Iterable[str], problems: Problems) -> None:
    for name in required:
        if name not in body:
            problems.add(f"{name} is a required property")
    unexpected = [name for name in body if name not in allowed]
    _unexpected(unexpected, problems)
    for name, value in body.items():
        before = len(problems.messages)
        _no_nul(value, name, problems)
        del problems.messages[before + 1:]  # one message per field is enough


def _unexpected(names: list[str], problems: Problems) -> None:
    if names:
        verb = "was" if len(names) == 1 else "were"
        problems.add(f"Additional properties are not allowed ({', '.join(names)} {verb} unexpected)")


def _string(body: Mapping[str, Any], name: str, problems: Problems, *, nullable: bool = False) -> str | None:
    value = body.get(name)
    if value is None and (nullable or name not in body):
        return None
    if not isinstance(value, str):
        problems.add(f"{name} {show(value)} is not of type string{', null' if nullable else ''}")
        return None
    return value


def _uuid(body: Mapping[str, Any], name: str, problems: Problems, *, nullable: bool = False) -> uuid.UUID | None:
    if name not in body or (nullable and body[name] is None):
        return None
    parsed = parse_uuid(body[name])
    if parsed is None:
        problems.add(f"{name} is not a valid UUID")
    return parsed


def parse_uuid(value: Any) -> uuid.UUID | None:
    """The UUID a string holds in its canonical 36-character form, or None."""
    if not isinstance(value, str) or len(value) != 36:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _personalisation(body: Mapping[str, Any], problems: Problems) -> dict[str, Any] | None:
    value = body.get("personalisation")
    if value is None and "personalisation" not in body:
        return None
    if not isinstance(value, dict):
        problems.add(f"personalisation {show(value)} is not of type object")
        return None
    return value


def _reference(body: Mapping[str, Any], problems: Problems) -> str | None:
    reference = _string(body, "reference", problems, nullable=True)
    if reference is not None and len(reference) > MAX_REFERENCE_LENGTH:
        problems.add(f"reference {show(reference)} is too long")
    return reference


def _scheduled_for(body: Mapping[str, Any], problems: Problems, now: datetime | None) -> None:
    # Checked as Notify's "datetime_within_next_day" format checks it, then ignored: clarion sends at once,
    # as Notify now does. Notify drops any offset without converting (`.replace(tzinfo=None)`), so does this.
    value = _string(body, "scheduled_for", problems, nullable=True)
    if value is None or now is None:
        return
    try:
        when = datetime.fromisoformat(value.strip()).replace(tzinfo=None)
    except ValueError:
        problems.add(f"scheduled_for {SCHEDULED_FOR_FORMAT}")
        return
    utc_now = now.astimezone(UTC).replace(tzinfo=None)
    if when < utc_now:
        problems.add("scheduled_for datetime can not be in the past")
    elif when > utc_now + timedelta(hours=24):
        problems.add("scheduled_for datetime can only be 24 hours in the future")


def parse_sms(body: Any, *, now: datetime | None = None) -> SmsRequest:
    """A POST /v2/notifications/sms body; `now` (UTC) checks scheduled_for."""
    body, problems = _object(body), Problems()
    raw = _string(body, "phone_number", problems)
    phone = None
    if raw is not None:
        try:
            phone = validate_phone_number(raw)
        except InvalidRecipient as exc:
            problems.add(f"phone_number {exc}")
        if phone is not None and len(raw) > PHONE_NUMBER_LENGTH:
            problems.add("phone_number Mobile number is too long")
    template_id = _uuid(body, "template_id", problems)
    personalisation = _personalisation(body, problems)
    reference = _reference(body, problems)
    _scheduled_for(body, problems, now)
    sms_sender_id = _uuid(body, "sms_sender_id", problems, nullable=True)
    _check_fields(body, SMS_FIELDS, ("phone_number", "template_id"), problems)
    problems.raise_if_any()
    assert raw is not None and phone is not None and template_id is not None
    return SmsRequest(phone_number=raw, phone=phone, template_id=template_id, personalisation=personalisation,
                      reference=reference, sms_sender_id=sms_sender_id)


def parse_email(body: Any, *, now: datetime | None = None) -> EmailRequest:
    """A POST /v2/notifications/email body; `now` (UTC) checks scheduled_for."""
    body, problems = _object(body), Problems()
    raw = _string(body, "email_address", problems)
    address = None
    if raw is not None:
        try:
            address = validate_email_address(raw)
        except InvalidRecipient as exc:
            problems.add(f"email_address {exc}")
    template_id = _uuid(body, "template_id", problems)
    personalisation = _personalisation(body, problems)
    reference = _reference(body, problems)
    _scheduled_for(body, problems, now)
    reply_to_id = _uuid(body, "email_reply_to_id", problems, nullable=True)
    unsubscribe = _https_url(body, "one_click_unsubscribe_url", problems)
    sanitise = _string_list(body, "sanitise_content_for", problems)
    _check_fields(body, EMAIL_FIELDS, ("email_address", "template_id"), problems)
    problems.raise_if_any()
    assert raw is not None and address is not None and template_id is not None
    return EmailRequest(email_address=raw, normalised_address=address, template_id=template_id,
                        personalisation=personalisation, reference=reference, email_reply_to_id=reply_to_id,
                        one_click_unsubscribe_url=unsubscribe, sanitise_content_for=sanitise)


def _https_url(body: Mapping[str, Any], name: str, problems: Problems) -> str | None:
    value = _string(body, name, problems, nullable=True)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        valid = parts.scheme == "https" and bool(parts.hostname) and not any(c.isspace() for c in value)
    except ValueError:
        valid = False
    if not valid:
        problems.add(f"{name} is not a valid https url")
        return None
    return value


def _string_list(body: Mapping[str, Any], name: str, problems: Problems) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list):
        problems.add(f"{name} {show(value)} is not of type array, null")
        return None
    bad = [item for item in value if not isinstance(item, str)]
    if bad:
        problems.add(f"{name} {show(bad[0])} is not of type string")
        return None
    return value


def parse_letter(body: Any) -> LetterRequest | PrecompiledLetterRequest:
    """A POST /v2/notifications/letter body: a precompiled letter when it has `content`, else a template letter."""
    body, problems = _object(body), Problems()
    if "content" in body:
        return _parse_precompiled(body, problems)
    template_id = _uuid(body, "template_id", problems)
    personalisation = _personalisation(body, problems)
    reference = _reference(body, problems)
    _check_fields(body, LETTER_FIELDS, ("template_id", "personalisation"), problems)
    problems.raise_if_any()
    assert template_id is not None and personalisation is not None
    return LetterRequest(template_id=template_id, personalisation=personalisation, reference=reference)


def _parse_precompiled(body: dict[str, Any], problems: Problems) -> PrecompiledLetterRequest:
    # Notify's post_precompiled_letter_request: the base64 itself is checked later (intake), the PDF by a worker.
    reference = _string(body, "reference", problems)
    if reference is not None and len(reference) > MAX_REFERENCE_LENGTH:  # the column's limit, as for other letters
        problems.add(f"reference {show(reference)} is too long")
    content = _string(body, "content", problems)
    postage = _string(body, "postage", problems)
    if postage is not None and postage not in PRECOMPILED_POSTAGE:
        problems.add("postage invalid. It must be either first, second or economy.")
    _check_fields(body, PRECOMPILED_FIELDS, ("reference", "content"), problems)
    problems.raise_if_any()
    assert reference is not None and content is not None
    return PrecompiledLetterRequest(content=content, reference=reference, postage=postage)


def parse_preview(body: Any) -> dict[str, Any] | None:
    """The personalisation of a POST /v2/template/{id}/preview body (which may be empty)."""
    body, problems = _object(body), Problems()
    personalisation = _personalisation(body, problems)
    _check_fields(body, ("personalisation",), (), problems)
    problems.raise_if_any()
    return personalisation


def parse_path_uuid(value: str, name: str) -> uuid.UUID:
    """A UUID from the path; 400 "<name> is not a valid UUID" otherwise."""
    parsed = parse_uuid(value)
    if parsed is None:
        raise RequestInvalid([f"{name} is not a valid UUID"])
    return parsed


@dataclass(frozen=True)
class ListQuery:
    """GET /v2/notifications filters, and the query pairs to repeat in `links`, in the caller's order."""

    statuses: tuple[str, ...]
    template_types: tuple[str, ...]
    reference: str | None
    older_than: uuid.UUID | None
    include_jobs: bool
    pairs: tuple[tuple[str, str], ...]


def _enum_problem(name: str, value: str, allowed: Iterable[str]) -> str:
    return f"{name} {show(value)} is not one of [{', '.join(allowed)}]"


def parse_list_query(items: list[tuple[str, str]]) -> ListQuery:
    """The query string of GET /v2/notifications."""
    problems = Problems()
    allowed = ("reference", "status", "template_type", "include_jobs", "older_than")
    unexpected = list(dict.fromkeys(name for name, _ in items if name not in allowed))
    values: dict[str, list[str]] = {}
    for name, value in items:
        values.setdefault(name, []).append(value)
    for status in values.get("status", []):
        if status not in NOTIFICATION_STATUS_TYPES:
            problems.add(_enum_problem("status", status, NOTIFICATION_STATUS_TYPES))
    for template_type in values.get("template_type", []):
        if template_type not in TEMPLATE_TYPES:
            problems.add(_enum_problem("template_type", template_type, TEMPLATE_TYPES))
    include_jobs = values.get("include_jobs", [None])[0]
    if include_jobs is not None and include_jobs not in INCLUDE_JOBS:
        problems.add(_enum_problem("include_jobs", include_jobs, INCLUDE_JOBS))
    older_than = _older_than(values, problems)
    _no_nul(values.get("reference", []), "reference", problems)
    _unexpected(unexpected, problems)
    problems.raise_if_any()
    reference = values.get("reference", [None])[0]
    pairs = _link_pairs(items, ("older_than", "reference", "include_jobs"))
    return ListQuery(statuses=tuple(values.get("status", [])), template_types=tuple(values.get("template_type", [])),
                     reference=reference, older_than=older_than, include_jobs=include_jobs is not None,
                     pairs=pairs)


def _older_than(values: Mapping[str, list[str]], problems: Problems) -> uuid.UUID | None:
    if "older_than" not in values:
        return None
    parsed = parse_uuid(values["older_than"][0])
    if parsed is None:
        problems.add("older_than is not a valid UUID")
    return parsed


def _link_pairs(items: list[tuple[str, str]], single: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    # Notify rebuilds the query from `request.args.to_dict(flat=False)`: names in the order each first
    # appears, every value of a name together, and only the first value of the single-valued ones.
    grouped: dict[str, list[str]] = {}
    for name, value in items:
        grouped.setdefault(name, []).append(value)
    return tuple((name, value) for name, values in grouped.items()
                 for value in (values[:1] if name in single else values))


def parse_older_than_query(items: list[tuple[str, str]]) -> uuid.UUID | None:
    """The query string of GET /v2/received-text-messages: only `older_than`."""
    problems = Problems()
    values: dict[str, list[str]] = {}
    for name, value in items:
        values.setdefault(name, []).append(value)
    older_than = _older_than(values, problems)
    unexpected = [name for name in values if name != "older_than"]
    _unexpected(unexpected, problems)
    problems.raise_if_any()
    return older_than


def parse_template_type_query(items: list[tuple[str, str]]) -> str | None:
    """The query string of GET /v2/templates: an optional `type`."""
    problems = Problems()
    values: dict[str, list[str]] = {}
    for name, value in items:
        values.setdefault(name, []).append(value)
    template_type = values.get("type", [None])[0]
    if template_type is not None and template_type not in TEMPLATE_TYPES:
        problems.add(_enum_problem("type", template_type, TEMPLATE_TYPES))
    unexpected = [name for name in values if name != "type"]
    _unexpected(unexpected, problems)
    problems.raise_if_any()
    return template_type
