"""Templates: every change makes a new immutable version in templates_history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from clarion.db.models import NOTIFICATION_TYPES, Service, Template, TemplateHistory
from clarion.manage.errors import ManageError, NotFound, check_name

POSTAGES = ("first", "second", "economy", "europe", "rest-of-world")
VERSIONED = ("template_type", "name", "subject", "content", "postage", "letter_contact_block", "archived",
             "created_by", "created_at", "updated_at", "service_id")


def create_template(session: Session, service: Service, *, template_type: str, name: str, content: str,
                    subject: str | None = None, postage: str | None = None,
                    letter_contact_block: str | None = None, created_by: str | None = None,
                    now: datetime) -> Template:
    """A new template at version 1."""
    _check(template_type, name, content, subject, postage)
    template = Template(
        id=uuid.uuid4(), service_id=service.id, template_type=template_type, name=name, content=content,
        subject=subject if template_type != "sms" else None,
        postage=(postage or "second") if template_type == "letter" else None,
        letter_contact_block=letter_contact_block if template_type == "letter" else None,
        created_by=created_by, created_at=now, version=1, archived=False,
    )
    session.add(template)
    session.flush()
    _snapshot(session, template)
    return template


def update_template(session: Session, template: Template, *, now: datetime, **fields: Any) -> Template:
    """Change a template; notifications already sent keep pointing at their version."""
    allowed = {"name", "content", "subject", "postage", "letter_contact_block", "archived"}
    unknown = set(fields) - allowed
    if unknown:
        raise ManageError(f"cannot change {sorted(unknown)}; changeable fields are {sorted(allowed)}")
    merged = {name: fields.get(name, getattr(template, name)) for name in allowed}
    _check(template.template_type, merged["name"], merged["content"], merged["subject"], merged["postage"])
    for name, value in fields.items():
        setattr(template, name, value)
    template.version += 1
    template.updated_at = now
    session.flush()
    _snapshot(session, template)
    return template


def get_template(session: Session, template_id: uuid.UUID) -> Template:
    """The current version of a template, or NotFound."""
    template = session.get(Template, template_id)
    if template is None:
        raise NotFound(f"no template with id {template_id}")
    return template


def _snapshot(session: Session, template: Template) -> None:
    session.add(TemplateHistory(id=template.id, version=template.version,
                                **{name: getattr(template, name) for name in VERSIONED}))
    session.flush()


def _check(template_type: str, name: str, content: str, subject: str | None, postage: str | None) -> None:
    if template_type not in NOTIFICATION_TYPES:
        raise ManageError(f"template type must be one of {list(NOTIFICATION_TYPES)}, not {template_type!r}")
    check_name(name, "a template")
    if not content.strip():
        raise ManageError("a template needs a body")
    if template_type in ("email", "letter") and not (subject or "").strip():
        raise ManageError(f"an {template_type} template needs a subject (--subject)")
    if postage is not None and template_type == "letter" and postage not in POSTAGES:
        raise ManageError(f"postage must be one of {list(POSTAGES)}, not {postage!r}")


def serialise_template(template: Template) -> dict[str, Any]:
    """A template as JSON for the CLI and the operator API."""
    return {
        "id": str(template.id), "service_id": str(template.service_id), "type": template.template_type,
        "name": template.name, "subject": template.subject, "body": template.content,
        "postage": template.postage, "letter_contact_block": template.letter_contact_block,
        "version": template.version, "archived": template.archived,
        "created_at": template.created_at.isoformat(),
    }
