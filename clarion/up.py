"""`clarion up`: everything on one machine, on the embedded defaults.

Migrates the database, makes sure the demo service exists, then starts the API, a worker, the
scheduler and the sandbox as child processes with the same environment and working folder, so every
child reads the same settings. Every provider the environment does not configure is pointed at the
sandbox (`sandbox_environment`), so texts, emails and letters really travel and come back with
receipts, with no account anywhere. It waits for the API's /_status, prints an
example, and supervises: if a child dies the others are stopped; Ctrl-C or SIGTERM stops them all
(terminate, wait, then kill). Each child's JSON log lines go to `.clarion/logs/<name>.log`.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping
from types import FrameType
from typing import IO, TextIO

from clarion.clock import SystemClock
from clarion.config import DATA_DIR, Settings
from clarion.db.engine import make_engine, make_sessions
from clarion.db.migrate import upgrade
from clarion.demo import ensure_demo, example
from clarion.logs import configure_logging
from clarion.sandbox import ses_events

__all__ = ["Supervisor", "run_up"]

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.2

log = logging.getLogger(__name__)


@dataclass
class Child:
    """One clarion process started by `clarion up`."""

    name: str
    process: subprocess.Popen[bytes]
    log_file: IO[bytes]


@dataclass
class Supervisor:
    """Starts clarion's processes, watches them, and stops them all together."""

    log_dir: Path
    host: str = "127.0.0.1"
    environment: dict[str, str] = field(default_factory=dict)  # added to this process's for every child
    children: list[Child] = field(default_factory=list)
    stopping: bool = False

    def start(self, name: str) -> None:
        """Start `python -m clarion <name>` with this process's environment (plus ours) and folder."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_file = (self.log_dir / f"{name}.log").open("ab")
        argv = [sys.executable, "-m", "clarion", name] + (["--host", self.host] if name == "api" else [])
        # A new session keeps Ctrl-C away from the children: the supervisor stops them in order.
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                                   start_new_session=True, env={**os.environ, **self.environment})
        self.children.append(Child(name, process, log_file))
        log.info("started %s", name, extra={"child": name, "pid": process.pid})

    def dead(self) -> Child | None:
        """A child that has exited, if any."""
        return next((child for child in self.children if child.process.poll() is not None), None)

    def stop_all(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Ask every child to stop, wait up to `timeout_s`, then kill what is left."""
        self.stopping = True
        for child in self.children:
            if child.process.poll() is None:
                child.process.terminate()
        deadline = time.monotonic() + timeout_s
        for child in self.children:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time; killing it", child.name, extra={"child": child.name})
                child.process.kill()
                child.process.wait()
            child.log_file.close()


class _Stop(Exception):
    """Raised in the main thread by SIGTERM or SIGINT."""


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def run_up(settings: Settings, *, host: str = "127.0.0.1", exit_after: float | None = None,
           with_sandbox: bool = False, data_dir: Path = DATA_DIR, out: TextIO | None = None) -> int:
    """Run everything until Ctrl-C, SIGTERM, a child's death, or `exit_after` seconds; the exit code."""
    out = out or sys.stdout
    configure_logging("up")
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        demo = ensure_demo(settings, make_sessions(engine), SystemClock(), data_dir=data_dir)
    finally:
        engine.dispose()
    supervisor = Supervisor(log_dir=data_dir / "logs", host=host)
    if with_sandbox:
        supervisor.environment = sandbox_environment(
            sandbox_url=f"http://127.0.0.1:{settings.sandbox_port}", api_url=settings.api_host_name,
            smtp_port=settings.sandbox_smtp_port, receipt_token=_receipt_token(data_dir), environ=os.environ,
            aws_region=settings.aws_region)
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _supervise(supervisor, settings, demo, exit_after=exit_after, with_sandbox=with_sandbox, out=out)
    except _Stop as stop:
        print(f"\n{stop}: stopping clarion", file=out, flush=True)
        return 0
    finally:
        for sig in previous:  # a second Ctrl-C must not cut the clean stop short
            signal.signal(sig, signal.SIG_IGN)
        supervisor.stop_all()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print("all clarion processes stopped", file=out, flush=True)


SANDBOX_AWS_CREDENTIAL = "clarion-sandbox"


def sandbox_environment(*, sandbox_url: str, api_url: str, smtp_port: int, receipt_token: str,
                        environ: Mapping[str, str], aws_region: str = "eu-west-1") -> dict[str, str]:
    """Settings that point each provider at the sandbox, for every provider the environment leaves unset.

    A provider counts as configured when its address is set (MMG_URL, FIRETEXT_URL, SES_ENDPOINT_URL,
    SMTP_HOST, DVLA_API_BASE_URL); then none of its settings are touched. Receipts come back to the
    API with `receipt_token`, which the receipt endpoints accept.
    """
    tokens = json.dumps([receipt_token])
    providers: dict[str, dict[str, str]] = {
        "MMG_URL": {"MMG_URL": f"{sandbox_url}/mmg/jsonv2a/api.php",
                    "MMG_RECEIPT_URL": f"{api_url}/notifications/sms/mmg", "MMG_INBOUND_SMS_AUTH": tokens},
        "FIRETEXT_URL": {"FIRETEXT_URL": f"{sandbox_url}/firetext/api/sendsms/json",
                         "FIRETEXT_RECEIPT_URL": f"{api_url}/notifications/sms/firetext",
                         "FIRETEXT_INBOUND_SMS_AUTH": tokens},
        "SES_ENDPOINT_URL": {"SES_ENDPOINT_URL": sandbox_url, "AWS_ACCESS_KEY_ID": SANDBOX_AWS_CREDENTIAL,
                             "AWS_SECRET_ACCESS_KEY": SANDBOX_AWS_CREDENTIAL,
                             "SNS_SIGNING_CERT_URL_PREFIXES": json.dumps([f"{sandbox_url}/"]),
                             "SNS_TOPIC_ARNS": json.dumps([ses_events.topic_arn(aws_region)])},
        "SMTP_HOST": {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "SMTP_STARTTLS": "false"},
        "DVLA_API_BASE_URL": {"DVLA_API_BASE_URL": sandbox_url},
    }
    chosen: dict[str, str] = {}
    for address, values in providers.items():
        if address not in environ:
            chosen.update({name: value for name, value in values.items() if name not in environ})
    return chosen


def _receipt_token(data_dir: Path) -> str:
    """The local receipt token, made once and kept in `.clarion/receipt-token` (owner-readable only)."""
    path = data_dir / "receipt-token"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        token = secrets.token_urlsafe(24)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(token)
        return token


def _supervise(supervisor: Supervisor, settings: Settings, demo: dict[str, object], *, exit_after: float | None,
               with_sandbox: bool, out: TextIO) -> int:
    names = ["api", "worker", "scheduler"] + (["sandbox"] if with_sandbox else [])
    for name in names:
        supervisor.start(name)
    status_url = f"http://127.0.0.1:{settings.api_port}/_status"
    if not _wait_until_ready(status_url, supervisor):
        return _report_failure(supervisor, out, f"the API did not answer {status_url} in {READY_TIMEOUT_S:.0f} s")
    print(_banner(settings, demo, supervisor), file=out, flush=True)
    deadline = None if exit_after is None else time.monotonic() + exit_after
    while deadline is None or time.monotonic() < deadline:
        if supervisor.dead() is not None:
            return _report_failure(supervisor, out, "")
        time.sleep(POLL_S)
    return 0


def _wait_until_ready(url: str, supervisor: Supervisor) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if supervisor.dead() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as reply:
                if reply.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(POLL_S)
    return False


def _report_failure(supervisor: Supervisor, out: TextIO, why: str) -> int:
    child = supervisor.dead()
    if child is not None:
        why = f"{child.name} exited with code {child.process.returncode}; see {child.log_file.name}"
    print(f"clarion up: {why}; stopping the other processes", file=out, flush=True)
    log.error("clarion up failed: %s", why)
    return 1


def _banner(settings: Settings, demo: dict[str, object], supervisor: Supervisor) -> str:
    running = ", ".join(f"{child.name} (pid {child.process.pid})" for child in supervisor.children)
    return "\n".join([
        f"clarion is running at {settings.api_host_name}: {running}",
        f"Logs (JSON lines): {supervisor.log_dir}/<process>.log",
        "",
        example(demo),
        "",
        "Press Ctrl-C to stop.",
    ])
