"""The operator commands: JSON on stdout for what changed; one line on stderr, exit 1 and no change on refusal."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from clarion.cli import main, worker_options
from clarion.db.engine import make_engine
from clarion.db.models import ApiKey, EmailReplyTo, GuestListRecipient, ProviderDetailsHistory, Service, \
    SmsSender, Template


@pytest.fixture
def run(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Invoke `clarion ...` against the test database, from a scratch folder."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), env={"DATABASE_URL": database_url, "ENVIRONMENT": "test"},
                             catch_exceptions=False)

    return invoke


def output(result: Result) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def refused(result: Result) -> str:
    """The one-line message of a refused command."""
    assert result.exit_code == 1, result.stdout
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def service_id(run: Any) -> str:
    return output(run("service", "create", "--name", "Parking permits"))["id"]


def test_service_create_prints_the_new_service(run: Any) -> None:
    service = output(run("service", "create", "--name", "Parking permits", "--trial"))
    assert service["name"] == "Parking permits"
    assert service["restricted"] is True
    uuid.UUID(service["id"])


def test_service_show_prints_the_service(run: Any, service_id: str) -> None:
    assert output(run("service", "show", service_id))["id"] == service_id


def test_a_duplicate_service_name_is_refused(run: Any, service_id: str, sessions: sessionmaker[Session]) -> None:
    message = refused(run("service", "create", "--name", "Parking permits"))
    assert "already exists" in message
    assert count(sessions, Service) == 1


def test_key_create_prints_the_full_key_once(run: Any, service_id: str) -> None:
    key = output(run("key", "create", "--service", service_id, "--type", "team", "--name", "ci"))
    assert key["key_type"] == "team"
    assert key["api_key"].startswith(f"ci-{service_id}-")
    uuid.UUID(key["api_key"][-36:])


def test_key_revoke_marks_the_key_revoked(run: Any, service_id: str) -> None:
    key = output(run("key", "create", "--service", service_id, "--type", "normal", "--name", "live"))
    revoked = output(run("key", "revoke", key["id"]))
    assert revoked["revoked_at"] is not None
    assert "api_key" not in revoked


def test_a_bad_key_type_is_refused(run: Any, service_id: str, sessions: sessionmaker[Session]) -> None:
    message = refused(run("key", "create", "--service", service_id, "--type", "admin", "--name", "x"))
    assert "normal" in message and "'admin'" in message
    assert count(sessions, ApiKey) == 0


@pytest.mark.parametrize("bad_id", [str(uuid.UUID(int=7)), "not-a-uuid"])
def test_an_unknown_service_is_refused(run: Any, bad_id: str, sessions: sessionmaker[Session]) -> None:
    message = refused(run("key", "create", "--service", bad_id, "--type", "test", "--name", "x"))
    assert bad_id in message
    assert count(sessions, ApiKey) == 0


def test_revoking_an_unknown_key_is_refused(run: Any) -> None:
    assert "no API key" in refused(run("key", "revoke", str(uuid.UUID(int=1))))
    assert "not a valid UUID" in refused(run("key", "revoke", "nope"))


@pytest.mark.parametrize(("kind", "extra"), [
    ("sms", []),
    ("email", ["--subject", "Your permit"]),
    ("letter", ["--subject", "Your permit", "--letter-contact-block", "Parking office"]),
])
def test_template_create_prints_version_one(run: Any, service_id: str, kind: str, extra: list[str]) -> None:
    template = output(run("template", "create", "--service", service_id, "--type", kind, "--name", f"{kind} one",
                          "--body", "Hello ((name))", *extra))
    assert template["type"] == kind
    assert template["version"] == 1
    assert template["body"] == "Hello ((name))"


def test_an_email_template_without_a_subject_is_refused(run: Any, service_id: str,
                                                        sessions: sessionmaker[Session]) -> None:
    message = refused(run("template", "create", "--service", service_id, "--type", "email", "--name", "e",
                          "--body", "Hi"))
    assert "--subject" in message
    assert count(sessions, Template) == 0


def test_sms_sender_create_can_take_over_as_default(run: Any, service_id: str,
                                                    sessions: sessionmaker[Session]) -> None:
    sender = output(run("sms-sender", "create", "--service", service_id, "--sender", "PERMITS", "--default"))
    assert sender == {**sender, "sms_sender": "PERMITS", "is_default": True}
    with sessions() as session:
        defaults = session.scalars(select(SmsSender.sms_sender).where(SmsSender.is_default)).all()
    assert defaults == ["PERMITS"]


def test_a_too_long_sms_sender_is_refused(run: Any, service_id: str, sessions: sessionmaker[Session]) -> None:
    before = count(sessions, SmsSender)
    assert "11 characters" in refused(run("sms-sender", "create", "--service", service_id, "--sender", "X" * 12))
    assert count(sessions, SmsSender) == before


def test_reply_to_create_prints_the_address(run: Any, service_id: str) -> None:
    reply_to = output(run("reply-to", "create", "--service", service_id, "--email", "permits@example.com",
                          "--default"))
    assert reply_to["email_address"] == "permits@example.com"
    assert reply_to["is_default"] is True


def test_a_bad_reply_to_address_is_refused(run: Any, service_id: str, sessions: sessionmaker[Session]) -> None:
    refused(run("reply-to", "create", "--service", service_id, "--email", "not-an-address"))
    assert count(sessions, EmailReplyTo) == 0


def test_guest_list_add_normalises_the_number(run: Any, service_id: str) -> None:
    entry = output(run("guest-list", "add", "--service", service_id, "07700 900123"))
    assert entry["recipient_type"] == "mobile"
    assert entry["recipient"] == "447700900123"


def test_guest_list_refuses_duplicates_and_bad_numbers(run: Any, service_id: str,
                                                       sessions: sessionmaker[Session]) -> None:
    output(run("guest-list", "add", "--service", service_id, "07700900123"))
    assert "already on the guest list" in refused(run("guest-list", "add", "--service", service_id, "07700900123"))
    refused(run("guest-list", "add", "--service", service_id, "123"))
    assert count(sessions, GuestListRecipient) == 1


def test_providers_lists_every_provider(run: Any) -> None:
    identifiers = {p["identifier"] for p in output(run("providers"))}
    assert {"mmg", "firetext"} <= identifiers


def test_providers_set_records_a_change_by_the_cli(run: Any) -> None:
    changed = output(run("providers", "set", "mmg", "--priority", "70", "--active", "true", "--reason", "test"))
    assert changed["priority"] == 70
    assert changed["created_by"] == "cli"
    history = [json.loads(line) for line in run("providers", "history", "mmg", "--json").output.splitlines()]
    assert (history[0]["priority"], history[0]["previous_priority"], history[0]["reason"]) == (70, 51, "test")
    assert history[0]["version"] == history[1]["version"] + 1
    # firetext gave up the points mmg took, so the weights still sum to 100
    firetext = [json.loads(line) for line in run("providers", "history", "firetext", "--json").output.splitlines()]
    assert (firetext[0]["previous_priority"], firetext[0]["priority"]) == (49, 30)
    table = run("providers", "history", "--type", "sms").output
    assert "51 → 70" in table and "49 → 30" in table and "cli" in table


def test_providers_set_refuses_an_out_of_range_priority(run: Any, sessions: sessionmaker[Session]) -> None:
    before = count(sessions, ProviderDetailsHistory)
    assert "between 0 and 100" in refused(run("providers", "set", "mmg", "--priority", "101", "--reason", "x"))
    assert "no provider" in refused(run("providers", "set", "nope", "--priority", "1", "--reason", "x"))
    assert count(sessions, ProviderDetailsHistory) == before


def test_a_new_embedded_sqlite_database_is_migrated_by_the_first_command(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'fresh' / 'clarion.db'}"
    result = CliRunner().invoke(main, ["service", "create", "--name", "First"], env={"DATABASE_URL": url})
    assert output(result)["name"] == "First"


def test_db_upgrade_prints_the_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'clarion.db'}"
    result = CliRunner().invoke(main, ["db", "upgrade"], env={"DATABASE_URL": url})
    assert output(result)["revision"]
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("select count(*) from provider_details")).scalar() > 0
    engine.dispose()


def test_a_bad_setting_is_one_line_on_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    production = CliRunner().invoke(main, ["providers"], env={"ENVIRONMENT": "production"})
    assert "SECRET" in refused(production)
    bad_port = CliRunner().invoke(main, ["providers"], env={"API_PORT": "sixty"})
    assert refused(bad_port).startswith("Error: API_PORT: ")


def test_the_worker_uses_a_thread_pool_on_every_clarion_queue() -> None:
    options = worker_options(concurrency=8, queues="send-sms-tasks,send-email-tasks,retry-tasks,periodic-tasks")
    assert options["pool_cls"] == "threads" and options["concurrency"] == 8
    assert options["queues"] == ["send-sms-tasks", "send-email-tasks", "retry-tasks", "periodic-tasks"]


def test_the_api_refuses_to_listen_beyond_loopback_with_the_published_secrets(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["api", "--host", "0.0.0.0"],
                                env={"DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"})
    assert result.exit_code == 1
    assert "refusing to serve on 0.0.0.0" in result.output
