"""The demo service `clarion up` makes: created once, reused after, described in .clarion/demo.json."""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.config import Settings
from clarion.db.models import ApiKey, GuestListRecipient, Service, Template
from clarion.demo import DEMO_SERVICE_NAME, ensure_demo, example


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_the_demo_file_has_exactly_the_documented_shape(settings: Settings, sessions: sessionmaker[Session],
                                                        clock: ManualClock, tmp_path: Path) -> None:
    demo = ensure_demo(settings, sessions, clock, data_dir=tmp_path)
    written = json.loads((tmp_path / "demo.json").read_text())
    assert written == demo
    assert set(written) == {"api_url", "service_id", "api_keys", "templates"}
    assert set(written["api_keys"]) == {"normal", "team", "test"}
    assert set(written["templates"]) == {"sms", "email", "letter"}
    assert written["api_url"] == settings.api_host_name
    for key in written["api_keys"].values():
        assert key[-73:-37] == written["service_id"]
        uuid.UUID(key[-36:])
    assert stat.S_IMODE((tmp_path / "demo.json").stat().st_mode) == 0o600


def test_the_demo_service_can_send_to_the_demo_number(settings: Settings, sessions: sessionmaker[Session],
                                                      clock: ManualClock, tmp_path: Path) -> None:
    demo = ensure_demo(settings, sessions, clock, data_dir=tmp_path)
    with sessions() as session:
        service = session.get(Service, uuid.UUID(demo["service_id"]))
        assert service.name == DEMO_SERVICE_NAME and service.restricted is False
        guests = session.scalars(select(GuestListRecipient.recipient)).all()
        sms = session.get(Template, uuid.UUID(demo["templates"]["sms"]))
        email = session.get(Template, uuid.UUID(demo["templates"]["email"]))
    assert guests == ["447700900123"]
    assert "((name))" in sms.content
    assert email.subject


def test_a_second_run_reuses_everything(settings: Settings, sessions: sessionmaker[Session], clock: ManualClock,
                                        tmp_path: Path) -> None:
    first = ensure_demo(settings, sessions, clock, data_dir=tmp_path)
    second = ensure_demo(settings, sessions, clock, data_dir=tmp_path)
    assert second == first
    assert count(sessions, Service) == 1
    assert count(sessions, ApiKey) == 3
    assert count(sessions, Template) == 3


def test_a_lost_demo_file_gets_fresh_keys_for_the_same_service(settings: Settings, sessions: sessionmaker[Session],
                                                                clock: ManualClock, tmp_path: Path) -> None:
    first = ensure_demo(settings, sessions, clock, data_dir=tmp_path)
    (tmp_path / "demo.json").unlink()
    second = ensure_demo(settings, sessions, clock, data_dir=tmp_path)
    assert second["service_id"] == first["service_id"]
    assert second["templates"] == first["templates"]
    assert second["api_keys"]["test"] != first["api_keys"]["test"]
    assert count(sessions, Service) == 1


def test_a_demo_file_for_another_database_is_replaced(settings: Settings, sessions: sessionmaker[Session],
                                                      clock: ManualClock, tmp_path: Path) -> None:
    stale = {"api_url": "http://old", "service_id": str(uuid.uuid4()),
             "api_keys": {"normal": "a", "team": "b", "test": "c"}, "templates": {"sms": "", "email": "", "letter": ""}}
    (tmp_path / "demo.json").write_text(json.dumps(stale))
    demo = ensure_demo(settings, sessions, clock, data_dir=tmp_path)
    assert demo["service_id"] != stale["service_id"]
    with sessions() as session:
        assert session.get(Service, uuid.UUID(demo["service_id"])) is not None


def test_the_example_uses_the_normal_key_and_the_sms_template(settings: Settings, sessions: sessionmaker[Session],
                                                            clock: ManualClock, tmp_path: Path) -> None:
    demo = ensure_demo(settings, sessions, clock, data_dir=tmp_path)
    text = example(demo)
    assert "from notifications_python_client import NotificationsAPIClient" in text
    assert demo["api_keys"]["normal"] in text and demo["templates"]["sms"] in text
    assert demo["api_url"] in text
    assert "sandbox" in text and "delivered" in text
