"""Template rendering: ((placeholder)) filling, SMS sanitising and fragments, email markdown, letters."""

from clarion.templates.email import EMAIL_SIZE_LIMIT_BYTES, EmailTooLarge, RenderedEmail, html_for_body, render_email
from clarion.templates.letter import RenderedLetter, render_letter
from clarion.templates.placeholders import MissingPersonalisation, placeholder_names
from clarion.templates.plain_text import email_plain_text
from clarion.templates.preview import preview
from clarion.templates.sms import SMS_CHARACTER_LIMIT, MessageTooLong, RenderedSms, render_sms

__all__ = [
    "EMAIL_SIZE_LIMIT_BYTES",
    "SMS_CHARACTER_LIMIT",
    "EmailTooLarge",
    "MessageTooLong",
    "MissingPersonalisation",
    "RenderedEmail",
    "RenderedLetter",
    "RenderedSms",
    "email_plain_text",
    "html_for_body",
    "placeholder_names",
    "preview",
    "render_email",
    "render_letter",
    "render_sms",
]
