"""Rendering a text message: fill, prefix, tidy whitespace, sanitise, count fragments."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clarion.templates import gsm
from clarion.templates.placeholders import as_text, check_personalisation, fill, values_from

__all__ = ["SMS_CHARACTER_LIMIT", "MessageTooLong", "RenderedSms", "build_sms", "normalise_whitespace", "render_sms"]

SMS_CHARACTER_LIMIT = 918  # 6 fragments of 153 GSM characters

_SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \t]+([,.])")
_THREE_OR_MORE_NEWLINES = re.compile(r"\n{3,}")
_ZERO_WIDTH = re.compile("[\u180e\u200b\u200c\u200d\u2060\ufeff]")


class MessageTooLong(ValueError):
    """A text message over the limit; the message gives the length without the prefix."""

    def __init__(self, length: int) -> None:
        self.length = length
        super().__init__(
            f"Text messages cannot be longer than {SMS_CHARACTER_LIMIT} characters. "
            f"Your message is {length} characters long."
        )


@dataclass(frozen=True)
class RenderedSms:
    """The text as sent (prefix included) and what it costs."""

    body: str
    fragment_count: int
    content_length: int  # UTF-16 code units of body, prefix included


def normalise_whitespace(text: str) -> str:
    """text with spaces collapsed on each line, none before , or ., at most one blank line, stripped."""
    text = _ZERO_WIDTH.sub("", text)
    text = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)
    # str.split() with no argument also splits on tabs, no-break and other Unicode spaces.
    text = "\n".join(" ".join(line.split()) for line in text.splitlines())
    return _THREE_OR_MORE_NEWLINES.sub("\n\n", text).strip()


def build_sms(content: str, personalisation: Mapping[str, Any] | None, *, prefix: str | None = None) -> RenderedSms:
    """The rendered message without the length check (for previews); raises MissingPersonalisation."""
    values = values_from(personalisation)
    check_personalisation(values, content)
    text = fill(content, values, as_text)
    if prefix:
        text = f"{prefix}: {text}"
    body = gsm.sanitise(normalise_whitespace(text))
    return RenderedSms(body=body, fragment_count=gsm.fragment_count(body), content_length=gsm.utf16_length(body))


def render_sms(content: str, personalisation: Mapping[str, Any] | None, *, prefix: str | None = None) -> RenderedSms:
    """The message as it will be sent; raises MissingPersonalisation or MessageTooLong."""
    rendered = build_sms(content, personalisation, prefix=prefix)
    # Notify checks the limit on the content alone, so a long service name never blocks a message.
    prefix_length = gsm.utf16_length(gsm.sanitise(normalise_whitespace(prefix))) + 2 if prefix else 0
    length = max(rendered.content_length - prefix_length, 0)
    if length > SMS_CHARACTER_LIMIT:
        raise MessageTooLong(length)
    return rendered
