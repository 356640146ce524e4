"""The demo service `clarion up` creates on first run, and the example it prints.

`.clarion/demo.json` holds what a newcomer needs to send a first message:
`{"api_url", "service_id", "api_keys": {"normal", "team", "test"}, "templates": {"sms", "email", "letter"}}`.
It holds full API keys, so it is written readable by its owner only. If it exists and its service
still does, it is reused as it is (only `api_url` follows the settings).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import Clock
from clarion.config import DATA_DIR, Settings
from clarion.crypto import SecretBox
from clarion.db.models import GuestListRecipient, Service, Template
from clarion.manage import keys, senders, services, templates

__all__ = ["DEMO_PHONE_NUMBER", "DEMO_SERVICE_NAME", "ensure_demo", "example"]

DEMO_SERVICE_NAME = "Clarion demo"
DEMO_PHONE_NUMBER = "07700900123"  # Ofcom's drama range: never a real person's phone
DEMO_REPLY_TO = "demo-replies@example.com"
KEY_TYPES = ("normal", "team", "test")
DEMO_TEMPLATES: dict[str, dict[str, str | None]] = {
    "sms": {"name": "Demo text message", "subject": None,
            "content": "Hello ((name)), this is a text message from Clarion."},
    "email": {"name": "Demo email", "subject": "Hello ((name))",
              "content": "Hello ((name)),\n\nThis email was sent by Clarion.\n\n# It can have headings\n\n"
                         "* and\n* lists"},
    "letter": {"name": "Demo letter", "subject": "A letter from Clarion",
               "content": "Dear ((name)),\n\nThis letter was sent by Clarion."},
}


def ensure_demo(settings: Settings, sessions: sessionmaker[Session], clock: Clock, *,
                data_dir: Path = DATA_DIR) -> dict[str, Any]:
    """The demo service's details, created on first run and reused afterwards; written to demo.json."""
    path = data_dir / "demo.json"
    demo = _read(path)
    if demo is None or not _service_exists(sessions, demo["service_id"]):
        demo = _create(settings, sessions, clock)
    demo["api_url"] = settings.api_host_name
    _write(path, demo)
    return demo


def _read(path: Path) -> dict[str, Any] | None:
    try:
        demo = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    shape_ok = (isinstance(demo, dict) and isinstance(demo.get("service_id"), str)
                and set(demo.get("api_keys") or {}) == set(KEY_TYPES)
                and set(demo.get("templates") or {}) == set(DEMO_TEMPLATES))
    return demo if shape_ok else None


def _service_exists(sessions: sessionmaker[Session], service_id: str) -> bool:
    try:
        key = uuid.UUID(service_id)
    except ValueError:
        return False
    with sessions() as session:
        return session.get(Service, key) is not None


def _create(settings: Settings, sessions: sessionmaker[Session], clock: Clock) -> dict[str, Any]:
    now = clock.now()
    box = SecretBox(settings.secret_key.get_secret_value())
    with sessions.begin() as session:
        service = session.scalar(select(Service).where(Service.name == DEMO_SERVICE_NAME))
        if service is None:  # demo.json was lost but the service is still there: give it fresh keys
            service = services.create_service(session, name=DEMO_SERVICE_NAME, restricted=False, now=now)
            senders.create_reply_to(session, service, email_address=DEMO_REPLY_TO, is_default=True, now=now)
        api_keys = {kind: keys.create_api_key(session, service, key_type=kind, name=f"demo {kind}", box=box,
                                              now=now).api_key for kind in KEY_TYPES}
        made = {kind: _demo_template(session, service, kind, now) for kind in DEMO_TEMPLATES}
        _guest(session, service, now)
        return {"api_url": settings.api_host_name, "service_id": str(service.id), "api_keys": api_keys,
                "templates": made}


def _demo_template(session: Session, service: Service, kind: str, now: Any) -> str:
    spec = DEMO_TEMPLATES[kind]
    existing = session.scalar(select(Template).where(
        Template.service_id == service.id, Template.template_type == kind, Template.name == spec["name"],
        Template.archived.is_(False)))
    if existing is not None:
        return str(existing.id)
    template = templates.create_template(session, service, template_type=kind, name=str(spec["name"]),
                                         content=str(spec["content"]), subject=spec["subject"],
                                         created_by="clarion up", now=now)
    return str(template.id)


def _guest(session: Session, service: Service, now: Any) -> None:
    already = session.scalar(select(GuestListRecipient).where(GuestListRecipient.service_id == service.id,
                                                              GuestListRecipient.recipient_type == "mobile"))
    if already is None:
        services.add_to_guest_list(session, service, DEMO_PHONE_NUMBER, now=now)


def _write(path: Path, demo: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(orjson.dumps(demo, option=orjson.OPT_INDENT_2) + b"\n")


def example(demo: dict[str, Any]) -> str:
    """Three lines that send a text with the official Notify Python client, and what to expect."""
    return "\n".join([
        "Send a text message with the official GOV.UK Notify Python client (pip install notifications-python-client):",
        "",
        "    from notifications_python_client import NotificationsAPIClient",
        f"    client = NotificationsAPIClient({demo['api_keys']['normal']!r}, base_url={demo['api_url']!r})",
        f"    client.send_sms_notification(phone_number={DEMO_PHONE_NUMBER!r}, "
        f"template_id={demo['templates']['sms']!r}, personalisation={{'name': 'you'}})",
        "",
        "It goes to the sandbox's MMG or Firetext, which posts a delivery receipt back a few seconds later:",
        "client.get_notification_by_id(<id>)['status'] goes `sending`, then `delivered`. Numbers ending",
        "7700900002 end `permanent-failure`, 7700900003 `temporary-failure`. The test key, the other",
        "templates (email, letter) and the team key are in .clarion/demo.json.",
    ])
