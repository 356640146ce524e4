"""`clarion up` in an empty folder: a newcomer's first text, through the official Notify client, is delivered."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from notifications_python_client import NotificationsAPIClient

from clarion.letters import CheckedLetter, LetterContent, check_precompiled, render_pdf

READY_TIMEOUT_S = 90
DELIVERY_TIMEOUT_S = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sandbox_ports() -> dict[str, str]:
    """Free ports for the sandbox `clarion up` starts, so parallel runs never collide on 6300/6325."""
    return {"SANDBOX_PORT": str(free_port()), "SANDBOX_SMTP_PORT": str(free_port()),
            "WORKER_METRICS_PORT": str(free_port())}


def wait_for(what: str, check: object, timeout_s: float, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"clarion up exited with {process.returncode} before {what}:\n{log.read_text()}")
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    pytest.fail(f"no {what} within {timeout_s} s:\n{log.read_text()}")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as reply:
            return reply.status == 200
    except OSError:
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class Up:
    process: subprocess.Popen[bytes]
    folder: Path
    api_url: str
    out: Path
    sandbox_url: str
    env: dict[str, str]

    def demo(self) -> dict[str, Any]:
        return json.loads((self.folder / ".clarion" / "demo.json").read_text())

    def client(self, key_type: str = "normal") -> NotificationsAPIClient:
        demo = self.demo()
        return NotificationsAPIClient(demo["api_keys"][key_type], base_url=demo["api_url"])

    def sandbox_stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.sandbox_url}/_sandbox/stats", timeout=5) as reply:
            return json.loads(reply.read())["providers"]

    def clarion(self, *args: str) -> str:
        """Run a clarion command against this instance's database (same folder and environment)."""
        result = subprocess.run([sys.executable, "-m", "clarion", *args], cwd=self.folder, env=self.env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def child_pids(self) -> dict[str, int]:
        return {name: int(pid) for name, pid in re.findall(r"(\w+) \(pid (\d+)\)", self.out.read_text())}


@pytest.fixture
def clarion_up(tmp_path: Path) -> Iterator[Up]:
    """`clarion up` on the embedded defaults in an empty folder, on a free port."""
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    env = {name: value for name, value in os.environ.items()
           if name not in {"DATABASE_URL", "BROKER_URL", "REDIS_URL", "ENVIRONMENT"}}
    ports = sandbox_ports()
    # Receipts after 0.2 s instead of the sandbox's realistic 5 s, so the tests wait less.
    env.update({"API_PORT": str(port), "API_HOST_NAME": api_url, "PYTHONUNBUFFERED": "1",
                "SANDBOX_RECEIPT_DELAY_S": "0.2", **ports})
    # Workers re-read weights for every send, so a provider set by hand routes the very next one
    # (by default a worker routes by weights up to 2 s old).
    env.setdefault("ROUTING_CACHE_TTL_S", "0")
    out = tmp_path / "up.out"
    with out.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "clarion", "up"], cwd=tmp_path, env=env,
                                   stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT)
    up = Up(process, tmp_path, api_url, out, f"http://127.0.0.1:{ports['SANDBOX_PORT']}", env)
    try:
        wait_for("/_status", lambda: answers(f"{api_url}/_status"), READY_TIMEOUT_S, process, out)
        wait_for("the banner", lambda: "Ctrl-C" in out.read_text(), 10, process, out)
        yield up
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_a_text_sent_with_the_demo_test_key_is_delivered(clarion_up: Up) -> None:
    demo = json.loads((clarion_up.folder / ".clarion" / "demo.json").read_text())
    assert demo["api_url"] == clarion_up.api_url
    client = NotificationsAPIClient(demo["api_keys"]["test"], base_url=demo["api_url"])

    sent = client.send_sms_notification(phone_number="07700900123", template_id=demo["templates"]["sms"],
                                        personalisation={"name": "you"})
    assert "Hello you" in sent["content"]["body"]

    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    status = None
    while time.monotonic() < deadline and status != "delivered":
        status = client.get_notification_by_id(sent["id"])["status"]
        time.sleep(0.3)
    assert status == "delivered", clarion_up.out.read_text()


def final_status(client: NotificationsAPIClient, notification_id: str, up: Up,
                 final: frozenset[str] = frozenset({"delivered", "sent", "permanent-failure", "temporary-failure",
                                                    "technical-failure"})) -> str:
    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    status = None
    while time.monotonic() < deadline:
        status = client.get_notification_by_id(notification_id)["status"]
        if status in final:
            return status
        time.sleep(0.2)
    pytest.fail(f"{notification_id} still {status} after {DELIVERY_TIMEOUT_S} s:\n{up.out.read_text()}")


@pytest.mark.parametrize(("phone_number", "outcome"), [
    ("07700900123", "delivered"),
    ("07700900002", "permanent-failure"),
    ("07700900003", "temporary-failure"),
])
def test_a_text_with_the_normal_key_goes_through_a_provider_and_its_receipt(
        clarion_up: Up, phone_number: str, outcome: str) -> None:
    client = clarion_up.client()
    demo = clarion_up.demo()
    sent = client.send_sms_notification(phone_number=phone_number, template_id=demo["templates"]["sms"],
                                        personalisation={"name": "you"})
    assert final_status(client, sent["id"], clarion_up) == outcome
    stats = clarion_up.sandbox_stats()
    assert stats["mmg"]["accepted"] + stats["firetext"]["accepted"] == 1
    assert stats["mmg"]["receipts_sent"] + stats["firetext"]["receipts_sent"] == 1
    metrics_url = f"http://127.0.0.1:{clarion_up.env['WORKER_METRICS_PORT']}/metrics"
    with urllib.request.urlopen(metrics_url, timeout=5) as reply:
        exposition = reply.read().decode()
    assert re.search(r'clarion_provider_requests_total\{outcome="success",provider="(mmg|firetext)"\} 1\.0',
                     exposition), exposition


def test_an_email_is_delivered_through_ses_and_sent_through_smtp(clarion_up: Up) -> None:
    client = clarion_up.client()
    template = clarion_up.demo()["templates"]["email"]
    through_ses = client.send_email_notification(email_address="someone@example.com", template_id=template,
                                                 personalisation={"name": "you"})
    assert final_status(client, through_ses["id"], clarion_up) == "delivered"
    assert clarion_up.sandbox_stats()["ses"]["accepted"] == 1

    clarion_up.clarion("providers", "set", "smtp", "--priority", "20", "--reason", "use the relay")
    through_smtp = client.send_email_notification(email_address="someone@example.com", template_id=template,
                                                  personalisation={"name": "you"})
    assert final_status(client, through_smtp["id"], clarion_up) == "sent"
    assert clarion_up.sandbox_stats()["smtp"]["accepted"] == 1


def test_a_template_letter_and_a_precompiled_letter_are_received_through_dvla(clarion_up: Up) -> None:
    client = clarion_up.client()
    address = {"address_line_1": "Ada Lovelace", "address_line_2": "12 Example Street", "address_line_3": "SW1A 1AA"}
    template_letter = client.send_letter_notification(template_id=clarion_up.demo()["templates"]["letter"],
                                                      personalisation={**address, "name": "Ada"})
    pdf = render_pdf(LetterContent(address_lines=list(address.values()), subject="Your permit",
                                   body="Your permit is ready.", contact_block=None, date=date(2026, 11, 22))).pdf
    precompiled = client.send_precompiled_letter_notification(reference="permit-42", pdf_file=io.BytesIO(pdf))

    for sent in (template_letter, precompiled):
        assert final_status(client, sent["id"], clarion_up, final=frozenset({"received", "technical-failure",
                                                                              "validation-failed"})) == "received"
        shown = client.get_pdf_for_letter(sent["id"]).read()
        checked = check_precompiled(shown)  # the address is readable in the envelope window
        assert isinstance(checked, CheckedLetter), checked
        assert list(checked.address_lines[:2]) == ["Ada Lovelace", "12 Example Street"]
    assert clarion_up.sandbox_stats()["dvla"]["accepted"] == 2


def test_sigterm_stops_every_child(clarion_up: Up) -> None:
    pids = clarion_up.child_pids()
    assert {"api", "worker", "scheduler", "sandbox"} <= set(pids)
    assert all(alive(pid) for pid in pids.values())

    clarion_up.process.send_signal(signal.SIGTERM)
    assert clarion_up.process.wait(timeout=30) == 0
    assert not [name for name, pid in pids.items() if alive(pid)]
    assert "all clarion processes stopped" in clarion_up.out.read_text()


def test_exit_after_stops_on_its_own(tmp_path: Path) -> None:
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in {"DATABASE_URL", "BROKER_URL"}}
    env.update({"API_PORT": str(port), "API_HOST_NAME": f"http://127.0.0.1:{port}", **sandbox_ports()})
    result = subprocess.run([sys.executable, "-m", "clarion", "up", "--exit-after", "1"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=READY_TIMEOUT_S + 30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all clarion processes stopped" in result.stdout
    pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", result.stdout)]
    assert len(pids) >= 3 and not any(alive(pid) for pid in pids)


def test_a_child_that_dies_stops_the_others(tmp_path: Path) -> None:
    with socket.socket() as taken:  # the API cannot bind a port something else listens on
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {name: value for name, value in os.environ.items() if name not in {"DATABASE_URL", "BROKER_URL"}}
        env.update({"API_PORT": str(port), "API_HOST_NAME": f"http://127.0.0.1:{port}", **sandbox_ports()})
        result = subprocess.run([sys.executable, "-m", "clarion", "up"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=READY_TIMEOUT_S + 30)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "api exited" in result.stdout
    assert "all clarion processes stopped" in result.stdout
