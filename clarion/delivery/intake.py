"""Accepting a notification: every rule between a well-formed request and the row to insert.

The API parses a request body into `SmsRequest`, `EmailRequest` or `LetterRequest`; the functions
here check it against the service, the API key and the template, render the message, and return an
`Accepted` holding the row for `notifications` and what the response shows. They do no I/O except
`check_rate_limit` and `reserve_daily_limits`, which ask `clarion.limits`. Nothing is committed or
queued here: the caller inserts the row, commits, then enqueues (style §3.3).

The order of the checks is Notify's (`post_notifications.py`): service permission, rate limit,
template, sender, recipient (trial mode, team key, international), then the daily limit just before
the row is written, so a refused request never uses up part of the day's allowance.

Errors, grouped by what the API answers (it maps them in `clarion/api/errors.py`):

IntakeError
  RequestInvalid        400 ValidationError, one entry per problem in `messages`
  CannotSend            400 BadRequestError: the message says what to change
    LettersNotAllowed   403 BadRequestError: team keys and trial-mode services cannot send letters
  RateLimitExceeded     429 RateLimitError
  DailyLimitExceeded    429 TooManyRequestsError

The dataclasses below are the read-only views of a service and a template that the API caches for a
few seconds; this module only reads them.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
import string
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from clarion import templates
from clarion.limits import Limits
from clarion.recipients import postal_address
from clarion.recipients.errors import InvalidRecipient
from clarion.recipients.phone import PhoneNumber, validate_phone_number
from clarion.recipients.simulated import is_simulated

__all__ = [
    "INTERNATIONAL_LETTERS", "Accepted", "ApiKeyInfo", "Caller", "CannotSend", "DailyLimitExceeded", "EmailRequest",
    "IntakeError", "LetterRequest", "LettersNotAllowed", "PrecompiledLetterRequest", "RateLimitExceeded",
    "RequestInvalid", "SenderInfo", "ServiceInfo", "SmsRequest", "TemplateInfo", "accept_email", "accept_letter",
    "accept_precompiled_letter", "accept_sms", "check_letters_allowed", "check_permission", "check_rate_limit",
    "check_template", "letter_reference", "precompiled_template_id", "reserve_daily_limits",
]

log = logging.getLogger(__name__)

TRIAL_MODE_MESSAGE = ("Can’t send to this recipient when service is in trial mode – see "
                      "https://www.notifications.service.gov.uk/trial-mode")
TEAM_KEY_MESSAGE = "Can’t send to this recipient using a team-only API key"
PERMISSION_NAMES = {"sms": "text messages", "email": "emails", "letter": "letters"}
RATE_LIMIT_INTERVAL_S = 60
KEY_TYPE_NAMES = {"normal": "LIVE", "team": "TEAM", "test": "TEST"}
# A test key on a trial-mode service is held to these instead of the service's own daily limits.
TRIAL_TEST_KEY_DAILY_LIMITS = {"email": 250_000, "sms": 250_000, "letter": 20_000, "international_sms": 100}
INTERNATIONAL_LETTERS = "international_letters"  # the permission to post letters abroad
LETTER_REFERENCE_ALPHABET = string.ascii_uppercase + string.digits
LETTER_REFERENCE_LENGTH = 16  # Notify's letter reference, DVLA's businessIdentifier
# Precompiled letters have no template of the service's; they name this one (Notify's hidden "Pre-compiled PDF").
PRECOMPILED_TEMPLATE_NAMESPACE = uuid.UUID("6b1f4a52-1f3e-4c1b-9a57-5c0d4e0c1d2a")
PRECOMPILED_SUBJECT = "Pre-compiled PDF"
PROVIDED_AS_PDF = "Provided as PDF"  # a precompiled letter's address until its PDF is checked
BASE64_MESSAGE = "Cannot decode letter content (invalid base64 encoding)"
EMPTY_MESSAGE = "Your message is empty."
# notifications-utils InsensitiveDict: personalisation keys match ignoring case, spaces, "_" and "-".
_KEY_NOISE = str.maketrans("", "", " _-\t\n\r\f\v")


class IntakeError(Exception):
    """A request clarion will not accept; str() is the message the caller sees."""


class RequestInvalid(IntakeError):
    """The request breaks the schema; `messages` has one line per problem."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = list(messages)
        super().__init__("; ".join(self.messages))


class CannotSend(IntakeError):
    """A well-formed request this service, key or template cannot send."""


class LettersNotAllowed(CannotSend):
    """Team keys and trial-mode services cannot send letters."""


class RateLimitExceeded(IntakeError):
    """The service sent more requests with this key type in the last minute than its rate limit."""

    def __init__(self, key_type: str, rate_per_minute: int) -> None:
        shown = KEY_TYPE_NAMES.get(key_type, key_type.upper())
        super().__init__(f"Exceeded rate limit for key type {shown} of {rate_per_minute} requests per "
                         f"{RATE_LIMIT_INTERVAL_S} seconds")


class DailyLimitExceeded(IntakeError):
    """The service has sent as many of this kind as it may today."""

    def __init__(self, channel: str, limit: int) -> None:
        super().__init__(f"Exceeded send limits ({channel}: {limit}) for today")


@dataclass(frozen=True)
class ApiKeyInfo:
    """An API key as authentication needs it; `secret` is the decrypted HMAC key."""

    id: uuid.UUID
    key_type: str
    secret: str
    expiry_date: datetime | None


@dataclass(frozen=True)
class SenderInfo:
    """An SMS sender or an email reply-to address of a service."""

    id: uuid.UUID
    value: str
    is_default: bool


@dataclass(frozen=True)
class ServiceInfo:
    """What accepting a notification needs to know about a service (cached by the API)."""

    id: uuid.UUID
    name: str
    active: bool
    restricted: bool
    prefix_sms: bool
    rate_limit: int
    daily_limits: Mapping[str, int]  # sms, email, letter, international_sms
    permissions: frozenset[str]
    email_sender_local_part: str
    api_keys: tuple[ApiKeyInfo, ...] = ()
    sms_senders: tuple[SenderInfo, ...] = ()
    reply_tos: tuple[SenderInfo, ...] = ()
    guest_list: frozenset[str] = frozenset()  # normalised numbers and lower-cased addresses


@dataclass(frozen=True)
class TemplateInfo:
    """One version of a template."""

    id: uuid.UUID
    service_id: uuid.UUID
    template_type: str
    name: str
    subject: str | None
    content: str
    postage: str | None
    letter_contact_block: str | None
    archived: bool
    version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime | None


@dataclass(frozen=True)
class SmsRequest:
    """A valid POST /v2/notifications/sms body."""

    phone_number: str
    phone: PhoneNumber
    template_id: uuid.UUID
    personalisation: dict[str, Any] | None = None
    reference: str | None = None
    sms_sender_id: uuid.UUID | None = None


@dataclass(frozen=True)
class EmailRequest:
    """A valid POST /v2/notifications/email body."""

    email_address: str
    normalised_address: str
    template_id: uuid.UUID
    personalisation: dict[str, Any] | None = None
    reference: str | None = None
    email_reply_to_id: uuid.UUID | None = None
    one_click_unsubscribe_url: str | None = None
    sanitise_content_for: list[str] | None = None


@dataclass(frozen=True)
class LetterRequest:
    """A valid POST /v2/notifications/letter body for a template letter."""

    template_id: uuid.UUID
    personalisation: dict[str, Any]
    reference: str | None = None


@dataclass(frozen=True)
class PrecompiledLetterRequest:
    """A valid POST /v2/notifications/letter body for a precompiled letter: a PDF in base64."""

    content: str
    reference: str
    postage: str | None = None


@dataclass(frozen=True)
class Caller:
    """Who is sending: the service and the key they signed with."""

    service: ServiceInfo
    api_key_id: uuid.UUID
    key_type: str


@dataclass(frozen=True)
class Accepted:
    """A notification that passed every check: its row, and what the 201 response shows."""

    row: dict[str, Any]
    simulated: bool  # a simulated recipient: answer 201, store and queue nothing
    content: dict[str, Any]  # the response's "content" object
    extra: dict[str, Any] = field(default_factory=dict)  # top-level response fields beyond Notify's usual ones
    daily_channels: tuple[str, ...] = ()  # daily limits this message counts against

    @property
    def id(self) -> uuid.UUID:
        """The new notification's id."""
        return self.row["id"]


def check_permission(service: ServiceInfo, notification_type: str) -> None:
    """Refuse a channel the service may not use."""
    if notification_type not in service.permissions:
        raise CannotSend(f"Service is not allowed to send {PERMISSION_NAMES[notification_type]}")


async def check_rate_limit(limits: Limits, caller: Caller, *, now: datetime) -> None:
    """Take a token from the service's bucket for this key type; RateLimitExceeded when it is empty."""
    rate = caller.service.rate_limit
    try:
        allowed = await limits.take_token(caller.service.id, caller.key_type, rate_per_minute=rate,
                                          now=now.timestamp())
    except Exception:  # Notify lets requests through when its Redis fails; so does clarion
        log.exception("rate limit check failed; allowing the request", extra={"service_id": str(caller.service.id)})
        return
    if not allowed:
        raise RateLimitExceeded(caller.key_type, rate)


async def reserve_daily_limits(limits: Limits, caller: Caller, accepted: Accepted, *, now: datetime) -> None:
    """Count the message against today's limits; DailyLimitExceeded when one is used up."""
    for channel in accepted.daily_channels:
        limit = _daily_limit(caller, channel)
        try:
            allowed = await limits.reserve_daily(caller.service.id, caller.key_type, channel, limit=limit,
                                                 day=now.date())
        except Exception:
            log.exception("daily limit check failed; allowing the request",
                          extra={"service_id": str(caller.service.id)})
            continue
        if not allowed:
            raise DailyLimitExceeded(channel, limit)


def _daily_limit(caller: Caller, channel: str) -> int:
    if caller.key_type == "test" and caller.service.restricted:
        return TRIAL_TEST_KEY_DAILY_LIMITS[channel]
    return caller.service.daily_limits[channel]


def check_template(template: TemplateInfo | None, notification_type: str) -> TemplateInfo:
    """The template, if it exists, suits this channel and is not archived."""
    if template is None:
        raise CannotSend("Template not found")
    if template.template_type != notification_type:
        raise CannotSend(f"{template.template_type} template is not suitable for {notification_type} notification")
    if template.archived:
        raise CannotSend("Template has been deleted")
    return template


def accept_sms(request: SmsRequest, *, caller: Caller, template: TemplateInfo, default_sender: str,
               now: datetime) -> Accepted:
    """Render and check a text message; the row is ready to insert."""
    service = caller.service
    prefix = service.name if service.prefix_sms else None
    rendered = templates.render_sms(template.content, request.personalisation, prefix=prefix)
    if _sms_is_empty(rendered.body, prefix):
        raise CannotSend(EMPTY_MESSAGE)
    sender = _sender(service.sms_senders, request.sms_sender_id, "sms_sender_id", service.id)
    if request.sms_sender_id is not None and sender is not None:
        sender = _formatted_sender(sender)
    sender = sender or default_sender
    phone = request.phone
    simulated = is_simulated("sms", phone.normalised)
    if not simulated:
        _check_guest_list(caller, phone.normalised)
    if phone.international and "international_sms" not in service.permissions:
        raise CannotSend("Cannot send to international mobile numbers")
    row = _row(caller, template, request.personalisation, request.reference, now, notification_type="sms",
               to=request.phone_number, normalised_to=phone.normalised, body=rendered.body, subject=None,
               reply_to_text=sender)
    row.update(international=phone.international, phone_prefix=phone.prefix, rate_multiplier=phone.rate_multiplier)
    channels = ("international_sms", "sms") if phone.international else ("sms",)
    return Accepted(row=row, simulated=simulated, content={"body": rendered.body, "from_number": sender},
                    daily_channels=channels)


def accept_email(request: EmailRequest, *, caller: Caller, template: TemplateInfo, email_domain: str,
                 now: datetime) -> Accepted:
    """Render and check an email; the row is ready to insert."""
    service = caller.service
    rendered = templates.render_email(template.subject or "", template.content, request.personalisation,
                                      sanitise_content_for=request.sanitise_content_for)
    if not rendered.body.strip():
        raise CannotSend(EMPTY_MESSAGE)
    reply_to = _sender(service.reply_tos, request.email_reply_to_id, "email_reply_to_id", service.id)
    address = request.normalised_address
    simulated = is_simulated("email", address)
    if not simulated:
        _check_guest_list(caller, address.lower())
    row = _row(caller, template, request.personalisation, request.reference, now, notification_type="email",
               to=request.email_address, normalised_to=address.lower(), body=rendered.body,
               subject=rendered.subject, reply_to_text=reply_to)
    row["one_click_unsubscribe_url"] = request.one_click_unsubscribe_url
    content = {"from_email": f"{service.email_sender_local_part}@{email_domain}", "body": rendered.body,
               "subject": rendered.subject, "one_click_unsubscribe_url": request.one_click_unsubscribe_url}
    extra = {"sanitised_content": rendered.sanitised} if rendered.sanitised else {}
    return Accepted(row=row, simulated=simulated, content=content, extra=extra, daily_channels=("email",))


def check_letters_allowed(caller: Caller) -> None:
    """Team keys, and normal keys of a trial-mode service, cannot send letters (Notify answers 403)."""
    if caller.key_type == "team":
        raise LettersNotAllowed("Cannot send letters with a team api key")
    if caller.service.restricted and caller.key_type != "test":
        raise LettersNotAllowed("Cannot send letters when service is in trial mode")


def accept_letter(request: LetterRequest, *, caller: Caller, template: TemplateInfo, now: datetime) -> Accepted:
    """Render and check a letter from a template; the row is ready to insert."""
    check_letters_allowed(caller)
    address = postal_address.parse_address(address_lines(request.personalisation))
    problem = postal_address.address_problem(
        address, allow_international=INTERNATIONAL_LETTERS in caller.service.permissions)
    if problem is not None:
        raise RequestInvalid([problem.message])
    rendered = templates.render_letter(template.subject or "", template.content, request.personalisation)
    row = _row(caller, template, request.personalisation, request.reference, now, notification_type="letter",
               to="\n".join(address.lines), normalised_to="".join("".join(address.lines).split()).lower(),
               body=rendered.body, subject=rendered.subject, reply_to_text=None)
    # An address abroad sets the postage (europe or rest-of-world); otherwise the template's class applies.
    row["postage"] = address.postage_zone if address.international else (template.postage or "second")
    row["reference"] = letter_reference()
    if caller.key_type == "test":
        # Notify creates a test letter as sending and, without TEST_LETTERS_FAKE_DELIVERY, marks it delivered
        # at once; clarion has no fake DVLA callback, so it is stored delivered and never printed.
        row.update(status="delivered", updated_at=now)
    return Accepted(row=row, simulated=False, content={"body": rendered.body, "subject": rendered.subject},
                    daily_channels=("letter",))


def accept_precompiled_letter(request: PrecompiledLetterRequest, *, caller: Caller,
                              now: datetime) -> tuple[Accepted, bytes]:
    """The row of a precompiled letter (`pending-virus-check` until a worker scans and checks it) and its PDF.

    Only the base64 is checked here, as Notify does; the PDF and the address in it are checked later,
    and a failure ends the letter `validation-failed` with the reason.
    """
    check_letters_allowed(caller)
    try:
        pdf = base64.b64decode(request.content)
    except (binascii.Error, ValueError):
        raise CannotSend(BASE64_MESSAGE) from None
    template = TemplateInfo(
        id=precompiled_template_id(caller.service.id), service_id=caller.service.id, template_type="letter",
        name=PRECOMPILED_SUBJECT, subject=PRECOMPILED_SUBJECT, content="", postage="second",
        letter_contact_block=None, archived=False, version=1, created_by=None, created_at=now, updated_at=None)
    personalisation = {"address_line_1": PROVIDED_AS_PDF}
    row = _row(caller, template, personalisation, request.reference, now, notification_type="letter",
               to=PROVIDED_AS_PDF, normalised_to="".join(PROVIDED_AS_PDF.split()).lower(), body="",
               subject=PRECOMPILED_SUBJECT, reply_to_text=None)
    row.update(status="pending-virus-check", postage=request.postage or "second", reference=letter_reference())
    return Accepted(row=row, simulated=False, content={}, daily_channels=("letter",)), pdf


def letter_reference() -> str:
    """A new letter's reference: 16 random capitals and digits."""
    return "".join(secrets.choice(LETTER_REFERENCE_ALPHABET) for _ in range(LETTER_REFERENCE_LENGTH))


def precompiled_template_id(service_id: uuid.UUID) -> uuid.UUID:
    """The template id a service's precompiled letters carry."""
    return uuid.uuid5(PRECOMPILED_TEMPLATE_NAMESPACE, str(service_id))


def address_lines(personalisation: Mapping[str, Any]) -> list[str]:
    """The non-empty address lines (address_line_1..7, then a legacy postcode), keys matched loosely."""
    values = {str(key).translate(_KEY_NOISE).lower(): value for key, value in personalisation.items()}
    wanted = [f"addressline{number}" for number in range(1, 8)] + ["postcode"]
    lines = []
    for key in wanted:
        value = values.get(key)
        text = "" if value is None else " ".join(str(value).split())
        if text:
            lines.append(text)
    return lines


def _sender(rows: Sequence[SenderInfo], wanted: uuid.UUID | None, field_name: str,
            service_id: uuid.UUID) -> str | None:
    if wanted is not None:
        for row in rows:
            if row.id == wanted:
                return row.value
        raise CannotSend(f"{field_name} {wanted} does not exist in database for service id {service_id}")
    return next((row.value for row in rows if row.is_default), None)


def _sms_is_empty(body: str, prefix: str | None) -> bool:
    # Notify refuses a message whose content, without the prefix, is empty once filled and tidied.
    if not prefix:
        return not body
    return len(body) <= len(prefix) + 1 and body.rstrip(":").strip() == " ".join(prefix.split()).strip()


def _formatted_sender(sender: str) -> str:
    # Notify passes a chosen sender through try_parse_and_format_phone_number: a valid mobile number
    # is normalised (E.164 without "+"), anything else (a name such as "GOVUK") is kept as it is.
    try:
        return validate_phone_number(sender).normalised
    except InvalidRecipient:
        return sender


def _check_guest_list(caller: Caller, normalised: str) -> None:
    if caller.key_type == "test":
        return
    if caller.key_type == "normal" and not caller.service.restricted:
        return
    if normalised in caller.service.guest_list:
        return
    raise CannotSend(TEAM_KEY_MESSAGE if caller.key_type == "team" else TRIAL_MODE_MESSAGE)


def _row(caller: Caller, template: TemplateInfo, personalisation: dict[str, Any] | None, reference: str | None,
         now: datetime, *, notification_type: str, to: str, normalised_to: str, body: str, subject: str | None,
         reply_to_text: str | None) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(), "service_id": caller.service.id, "template_id": template.id,
        "template_version": template.version, "api_key_id": caller.api_key_id, "key_type": caller.key_type,
        "notification_type": notification_type, "to": to, "normalised_to": normalised_to, "status": "created",
        "personalisation": personalisation, "body": body, "subject": subject, "client_reference": reference,
        "reference": None, "reply_to_text": reply_to_text, "international": False, "phone_prefix": None,
        "rate_multiplier": 1.0, "billable_units": 0, "postage": None, "one_click_unsubscribe_url": None,
        "sent_by": None, "failure_reason": None, "created_at": now, "sent_at": None, "updated_at": None,
    }
