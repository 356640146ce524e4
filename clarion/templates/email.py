"""Rendering an email: subject line, markdown body as the API shows it, and HTML.

``sanitise_content_for`` names personalisation values that came from the public (a name typed into
a form, say) and must not become markup or links:

- markdown is escaped with a backslash before ``\\``, ``[`` and ``]`` anywhere, and before a ``#``,
  ``*``, ``-``, ``+`` or ``_`` or the dot of ``1.`` that starts a line: all the markup left in this
  renderer once HTML is escaped (see markdown_html);
- links are broken with a zero-width space (U+200B) after ``://`` and after each dot that sits
  between a word character and a letter, so ``evil.example.com`` still reads the same but no mail
  client turns it into a link, while ``Mr. Smith`` and ``£1.50`` are left alone.

The backslashes and zero-width spaces show in ``body``, which is the markdown source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from clarion.templates.markdown_html import prepare_template, to_html
from clarion.templates.placeholders import Values, as_text, check_personalisation, fill, normalise_key, values_from

__all__ = ["EMAIL_SIZE_LIMIT_BYTES", "EmailTooLarge", "RenderedEmail", "render_email", "sanitise_value"]

EMAIL_SIZE_LIMIT_BYTES = 2_000_000
ZERO_WIDTH_SPACE = "\u200b"

_SCHEME_SEPARATOR = re.compile(r"://")
_DOT_BEFORE_LETTER = re.compile(r"(?<=\w)\.(?=[^\W\d_])")
_MARKUP_ANYWHERE = re.compile(r"([\\\[\]])")
_MARKUP_AT_LINE_START = re.compile(r"^([ \t]*)(?:([#*+_-])|(\d+)\.)", re.MULTILINE)


class EmailTooLarge(ValueError):
    """An email body over the size limit."""

    def __init__(self, size: int) -> None:
        self.size = size
        super().__init__(
            f"Emails cannot be longer than {EMAIL_SIZE_LIMIT_BYTES} bytes. Your message is {size} bytes."
        )


@dataclass(frozen=True)
class RenderedEmail:
    """A filled email: subject line, markdown body, and whether sanitising changed anything."""

    subject: str
    body: str
    sanitised: bool

    @property
    def html(self) -> str:
        """The HTML part, made from the body exactly as delivery makes it (only previews need it here)."""
        return html_for_body(self.body)


def _markdown_text(value: Any) -> str:
    # A list value becomes a bulleted list in emails, as Notify renders it.
    if isinstance(value, list | tuple):
        return "\n\n" + "\n".join(f"* {item}" for item in value if item is not None and str(item) != "") + "\n\n"
    return str(value)


def sanitise_value(text: str) -> str:
    """text that renders as itself: links broken up, markdown escaped."""
    text = _SCHEME_SEPARATOR.sub(":" + ZERO_WIDTH_SPACE + "//", text)
    text = _DOT_BEFORE_LETTER.sub("." + ZERO_WIDTH_SPACE, text)
    text = _MARKUP_ANYWHERE.sub(r"\\\1", text)
    return _MARKUP_AT_LINE_START.sub(_escape_line_start, text)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, symbol, number = match.groups()
    return f"{indent}\\{symbol}" if symbol else f"{indent}{number}\\."


def _sanitised(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [sanitise_value(str(item)) for item in value]
    return sanitise_value(str(value))


def _sanitise_values(values: Values, names: Iterable[str]) -> tuple[Values, bool]:
    wanted = {normalise_key(name) for name in names}
    result = dict(values)
    changed = False
    for key in wanted & values.keys():
        result[key] = _sanitised(values[key])
        original = values[key]
        changed |= result[key] != ([str(i) for i in original] if isinstance(original, list | tuple) else str(original))
    return result, changed


def render_email(subject: str, content: str, personalisation: Mapping[str, Any] | None, *,
                 sanitise_content_for: list[str] | None = None) -> RenderedEmail:
    """The email as it will be sent; raises MissingPersonalisation or EmailTooLarge."""
    values = values_from(personalisation)
    check_personalisation(values, subject, content)
    body_values, sanitised = _sanitise_values(values, sanitise_content_for or [])
    body = fill(content, body_values, _markdown_text).strip()
    size = len(body.encode("utf-8"))
    if size > EMAIL_SIZE_LIMIT_BYTES:
        raise EmailTooLarge(size)
    # Headers are one line: newlines in a subject would break the message.
    subject_line = " ".join(fill(subject, values, as_text).split())
    return RenderedEmail(subject=subject_line, body=body, sanitised=sanitised)


def html_for_body(body: str) -> str:
    """The HTML part for an email whose filled markdown `body` was stored at acceptance."""
    return to_html(prepare_template(body))
