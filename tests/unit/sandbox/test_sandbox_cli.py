"""`clarion sandbox` (runs it) and `clarion sandbox set` (changes a running sandbox's faults)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from clarion.cli import main
from tests.unit.sandbox.harness import WAIT_S, RunningSandbox


def clarion(*args: str, port: int) -> Result:
    return CliRunner().invoke(main, list(args), env={"SANDBOX_HOST": "127.0.0.1", "SANDBOX_PORT": str(port)},
                              catch_exceptions=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_set_changes_a_running_sandboxs_faults_and_prints_them(sandbox: RunningSandbox) -> None:
    result = clarion("sandbox", "set", "mmg", "--error-rate", "0.5", "--latency-ms", "100", "--down",
                     port=sandbox.server.http_port)

    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert (printed["error_rate"], printed["latency_ms"], printed["down"]) == (0.5, 100.0, True)
    assert sandbox.http.get("/_sandbox/faults/mmg").json() == printed


def test_set_up_brings_a_provider_back_and_keeps_its_other_faults(sandbox: RunningSandbox) -> None:
    sandbox.set_faults("ses", down=True, throttle_rate=0.2)

    result = clarion("sandbox", "set", "ses", "--up", port=sandbox.server.http_port)

    assert result.exit_code == 0, result.stderr
    assert (json.loads(result.stdout)["down"], json.loads(result.stdout)["throttle_rate"]) == (False, 0.2)


def test_set_with_no_options_prints_the_current_faults(sandbox: RunningSandbox) -> None:
    result = clarion("sandbox", "set", "firetext", port=sandbox.server.http_port)

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == sandbox.http.get("/_sandbox/faults/firetext").json()


def test_the_group_port_option_says_where_the_sandbox_runs(sandbox: RunningSandbox) -> None:
    result = clarion("sandbox", "--port", str(sandbox.server.http_port), "set", "smtp", "--throttle-rate", "1",
                     port=free_port())

    assert result.exit_code == 0, result.stderr
    assert sandbox.http.get("/_sandbox/faults/smtp").json()["throttle_rate"] == 1.0


@pytest.mark.parametrize(("args", "says"), [
    (["mmg", "--error-rate", "1.5"], "error_rate must be between 0 and 1"),
    (["mmg", "--latency-ms", "-3"], "latency_ms must be between 0"),
    (["twilio", "--down"], "no simulated provider 'twilio'"),
])
def test_set_refuses_a_bad_change_in_one_line_and_changes_nothing(
        sandbox: RunningSandbox, args: list[str], says: str) -> None:
    before = sandbox.http.get("/_sandbox/faults").json()

    result = clarion("sandbox", "set", *args, port=sandbox.server.http_port)

    assert result.exit_code == 1
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sandbox.http.get("/_sandbox/faults").json() == before


def test_set_says_so_when_no_sandbox_is_running() -> None:
    port = free_port()

    result = clarion("sandbox", "set", "mmg", "--down", port=port)

    assert result.exit_code == 1
    assert f"the sandbox is not running at http://127.0.0.1:{port}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_clarion_sandbox_refuses_an_address_beyond_loopback() -> None:
    result = clarion("sandbox", "--host", "0.0.0.0", port=free_port())

    assert result.exit_code == 1
    assert "loopback only" in result.stderr


def start_process(tmp_path: Path, http_port: int, smtp_port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SANDBOX_PORT": str(http_port), "SANDBOX_SMTP_PORT": str(smtp_port),
           "API_HOST_NAME": "http://127.0.0.1:9"}
    return subprocess.Popen([sys.executable, "-m", "clarion", "sandbox"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_clarion_sandbox_serves_until_sigterm_and_logs_json(tmp_path: Path) -> None:
    http_port, smtp_port = free_port(), free_port()
    process = start_process(tmp_path, http_port, smtp_port)
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                stats = httpx.get(f"http://127.0.0.1:{http_port}/_sandbox/stats").json()
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the sandbox never answered"
                time.sleep(0.05)
        assert set(stats["providers"]) == {"mmg", "firetext", "ses", "dvla", "smtp"}
        with socket.create_connection(("127.0.0.1", smtp_port), timeout=WAIT_S) as smtp:
            assert smtp.recv(100).startswith(b"220 ")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=WAIT_S)

    assert process.returncode == 0
    events = [json.loads(line) for line in stderr.decode().splitlines()]
    assert any(e["message"] == "sandbox listening" and e["process"] == "sandbox" for e in events)


def test_clarion_sandbox_explains_a_port_already_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = start_process(tmp_path, taken.getsockname()[1], free_port())
        _, stderr = process.communicate(timeout=WAIT_S)

    assert process.returncode == 1
    assert "the sandbox cannot listen on 127.0.0.1" in stderr.decode()
