"""What the template preview endpoint shows for a template and some personalisation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clarion.templates.email import render_email
from clarion.templates.letter import render_letter
from clarion.templates.sms import build_sms

__all__ = ["preview"]


def preview(template_type: str, subject: str | None, content: str, personalisation: Mapping[str, Any] | None, *,
            prefix: str | None = None) -> dict[str, str | None]:
    """{"body", "subject", "html"} for a template; raises MissingPersonalisation, never MessageTooLong."""
    if template_type == "sms":
        # Previews show over-long messages too, so the author can see what to cut.
        return {"body": build_sms(content, personalisation, prefix=prefix).body, "subject": None, "html": None}
    if template_type == "email":
        email = render_email(subject or "", content, personalisation)
        return {"body": email.body, "subject": email.subject, "html": email.html}
    if template_type == "letter":
        letter = render_letter(subject or "", content, personalisation)
        return {"body": letter.body, "subject": letter.subject, "html": None}
    raise ValueError(f"Unknown template type {template_type!r}: expected sms, email or letter")
