"""((placeholder)) parsing and filling, shared by every template type.

Semantics follow GOV.UK Notify:
- a placeholder is ``((`` + one or more characters other than brackets + ``))``;
- names are compared lower-cased with all whitespace removed, so ``((First Name))`` is filled by the
  personalisation key ``firstname`` or ``first name``;
- ``((name??text))`` shows ``text`` only when the value of ``name`` reads as "yes": one of
  ``yes y true t 1 include show`` (any case). Every other value, including ``no``, ``false``, ``0``
  and the empty string, hides it;
- a placeholder whose value is absent or ``None`` is missing; the empty string is a value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = [
    "MissingPersonalisation",
    "Values",
    "as_text",
    "check_personalisation",
    "fill",
    "normalise_key",
    "placeholder_names",
    "shows_conditional",
    "values_from",
]

PLACEHOLDER = re.compile(r"\(\(([^()]+)\)\)")
CONDITIONAL_SEPARATOR = "??"
TRUTHY_CONDITIONAL_VALUES = frozenset({"yes", "y", "true", "t", "1", "include", "show"})

Values = dict[str, Any]
"""Personalisation keyed by normalise_key(name)."""


class MissingPersonalisation(ValueError):
    """Placeholders in the template that the personalisation does not fill."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = list(names)
        super().__init__(f"Missing personalisation: {', '.join(self.names)}")


def normalise_key(name: str) -> str:
    """The form in which placeholder names and personalisation keys are compared."""
    return "".join(name.split()).lower()


def _name_of(body: str) -> str:
    return body.split(CONDITIONAL_SEPARATOR, 1)[0].strip()


def placeholder_names(*texts: str | None) -> list[str]:
    """Unique placeholder names, as first written, in order of first appearance across texts."""
    seen: dict[str, str] = {}
    for text in texts:
        for match in PLACEHOLDER.finditer(text or ""):
            name = _name_of(match.group(1))
            seen.setdefault(normalise_key(name), name)
    return list(seen.values())


def values_from(personalisation: Mapping[str, Any] | None) -> Values:
    """Personalisation re-keyed for lookup by placeholder name."""
    return {normalise_key(str(key)): value for key, value in (personalisation or {}).items()}


def check_personalisation(values: Values, *texts: str | None) -> None:
    """Raise MissingPersonalisation unless every placeholder in texts has a value."""
    missing = [name for name in placeholder_names(*texts) if values.get(normalise_key(name)) is None]
    if missing:
        raise MissingPersonalisation(missing)


def shows_conditional(value: Any) -> bool:
    """Whether a value switches on the text of a ((name??text)) placeholder."""
    return value is not None and str(value).strip().lower() in TRUTHY_CONDITIONAL_VALUES


def fill(text: str, values: Values, render: Callable[[Any], str], *, conditional: Callable[[str], str] = str) -> str:
    """text with each placeholder replaced; render turns a value into text, conditional adapts ?? text.

    Placeholders without a value are left as written, so call check_personalisation first when that
    is an error.
    """

    def replace(match: re.Match[str]) -> str:
        body = match.group(1)
        value = values.get(normalise_key(_name_of(body)))
        if CONDITIONAL_SEPARATOR in body:
            return conditional(body.split(CONDITIONAL_SEPARATOR, 1)[1]) if shows_conditional(value) else ""
        if value is None:
            return match.group(0)
        return render(value)

    return PLACEHOLDER.sub(replace, text)


def as_text(value: Any) -> str:
    """A personalisation value as plain text: lists read as "a, b and c"."""
    if isinstance(value, list | tuple):
        items = [str(item) for item in value if item is not None and str(item) != ""]
        return items[0] if len(items) == 1 else " and ".join(filter(None, [", ".join(items[:-1]), *items[-1:]]))
    return str(value)
