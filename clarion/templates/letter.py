"""Rendering a letter's subject (its heading) and body; the address block comes from personalisation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clarion.templates.placeholders import as_text, check_personalisation, fill, values_from

__all__ = ["ADDRESS_KEYS", "RenderedLetter", "render_letter"]

# Personalisation keys for the address block; a template need not mention them.
ADDRESS_KEYS = tuple(f"address_line_{number}" for number in range(1, 8)) + ("postcode",)


@dataclass(frozen=True)
class RenderedLetter:
    """A filled letter: the heading line and the body."""

    subject: str
    body: str


def render_letter(subject: str, content: str, personalisation: Mapping[str, Any] | None) -> RenderedLetter:
    """The letter with placeholders filled; raises MissingPersonalisation."""
    values = values_from(personalisation)
    check_personalisation(values, subject, content)
    return RenderedLetter(
        subject=" ".join(fill(subject, values, as_text).split()),
        body=fill(content, values, as_text).strip(),
    )
