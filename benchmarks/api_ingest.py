"""Accepted `POST /v2/notifications/sms` per second, p50/p99 latency and CPU per accepted request.

Starts `clarion api` as its own process on a scratch database, seeds a service, then drives it over
loopback HTTP/1.1 keep-alive connections from this process (a small asyncio client, so the load
generator itself costs little) for a fixed number of requests. CPU is read from /proc: the API
process, PostgreSQL's and Redis's processes, and the load generator, reported separately.

    python benchmarks/api_ingest.py --database sqlite                     # the embedded defaults
    python benchmarks/api_ingest.py --database postgres --broker redis    # PostgreSQL plus Redis
    python benchmarks/api_ingest.py --database postgres --broker redis --rate 500   # latency at 500/s

No worker runs: this measures acceptance (validate, persist, enqueue), not delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import jwt
import orjson
import redis
from sqlalchemy import create_engine, text

from clarion.config import Settings
from clarion.crypto import SecretBox
from clarion.db.engine import make_engine, make_sessions
from clarion.db.migrate import upgrade
from clarion.manage import keys, services, templates

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET = "benchmark-secret"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of one process and its reaped children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


def api_cpu(pid: int) -> float:
    """CPU of the API process and of its worker processes, if it started any."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return cpu_seconds(pid) + sum(cpu_seconds(int(child)) for child in children)


def pids_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip().startswith(name):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def cpu_of(name: str) -> float:
    total = 0.0
    for pid in pids_named(name):
        try:
            total += cpu_seconds(pid)
        except OSError:
            continue
    return total


def prepare_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
    else:
        name = f"clarion_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(make_engine(POSTGRES_ADMIN).url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    return url


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        name = url.rsplit("/", 1)[1]
        admin = create_engine(make_engine(POSTGRES_ADMIN).url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(url: str) -> tuple[str, str]:
    """A service allowed far more than the benchmark sends; returns (api key, sms template id)."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    with make_sessions(engine).begin() as session:
        service = services.create_service(session, name="Benchmark", now=now, rate_limit=10_000_000)
        key = keys.create_api_key(session, service, key_type="normal", name="bench", box=SecretBox(SECRET), now=now)
        template = templates.create_template(session, service, template_type="sms", name="t",
                                             content="Hello ((name)), your code is ((code))", now=now)
    engine.dispose()
    return key.api_key, str(template.id)


class Tokens:
    """One JWT per second, as a client library making fresh tokens would produce."""

    def __init__(self, api_key: str) -> None:
        self.service_id, self.secret = api_key[-73:-37], api_key[-36:]
        self._second, self._token = 0, ""

    def current(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._token = jwt.encode({"iss": self.service_id, "iat": second}, self.secret, algorithm="HS256")
        return self._token


async def one_connection(port: int, tokens: Tokens, body: bytes, count: int, latencies: list[float],
                         statuses: dict[int, int], interval_s: float | None, start_s: float = 0.0) -> None:
    """Send `count` requests on one keep-alive connection: back to back, or one every `interval_s`.

    At a fixed rate, latency counts from when a request was due, not when it went out, so a slow
    reply that delays the next request is charged to the server (no coordinated omission). Each
    connection starts `start_s` later than the first, so requests arrive evenly spread, not in bursts.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    due = time.perf_counter() + start_s
    try:
        for _ in range(count):
            if interval_s is not None:
                due += interval_s
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            request = (
                f"POST /v2/notifications/sms HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {tokens.current()}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            started = due if interval_s is not None else time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def drive(port: int, tokens: Tokens, template_id: str, total: int, concurrency: int,
                rate: float | None = None) -> tuple[list[float], dict[int, int], float]:
    body = orjson.dumps({"phone_number": "07700900123", "template_id": template_id,
                         "personalisation": {"name": "Ada", "code": "123456"}})
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    per_connection = total // concurrency
    started = time.perf_counter()
    interval_s = concurrency / rate if rate else None
    await asyncio.gather(*(one_connection(port, tokens, body, per_connection, latencies, statuses, interval_s,
                                          start_s=index / rate if rate else 0.0)
                           for index in range(concurrency)))
    return latencies, statuses, time.perf_counter() - started


def wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("clarion api exited during start-up; run it by hand to see why")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("clarion api did not start within 30 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--broker", choices=["filesystem", "redis"], default="filesystem")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=1_000)
    parser.add_argument("--api-workers", type=int, default=1, help="API processes (API_WORKERS)")
    parser.add_argument("--rate", type=float, help="offer this many requests per second instead of as many as it takes")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="clarion-bench-"))
    url = prepare_database(args.database, workdir)
    api_key, template_id = seed(url)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET, "API_PORT": str(port),
           "API_HOST_NAME": f"http://127.0.0.1:{port}", "ENVIRONMENT": "test",
           "API_WORKERS": str(args.api_workers)}
    if args.broker == "redis":
        env["BROKER_URL"] = "redis://127.0.0.1:6379/14"
        env["REDIS_URL"] = "redis://127.0.0.1:6379/14"
        redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    else:
        env["BROKER_URL"] = f"filesystem://{workdir}/broker"
    api = subprocess.Popen([sys.executable, "-m", "clarion", "api"], env=env, cwd=workdir,
                           stderr=open(workdir / "api.log", "wb"))
    try:
        wait_until_up(port, api)
        tokens = Tokens(api_key)
        asyncio.run(drive(port, tokens, template_id, args.warmup, min(args.concurrency, 8)))
        before = {"api": api_cpu(api.pid), "postgres": cpu_of("postgres"), "redis": cpu_of("redis-server")}
        own_before = resource.getrusage(resource.RUSAGE_SELF)
        latencies, statuses, elapsed = asyncio.run(
            drive(port, tokens, template_id, args.requests, args.concurrency, args.rate))
        own_after = resource.getrusage(resource.RUSAGE_SELF)
        after = {"api": api_cpu(api.pid), "postgres": cpu_of("postgres"), "redis": cpu_of("redis-server")}
    finally:
        api.terminate()
        api.wait(timeout=10)
        drop_database(url)
        if args.broker == "redis":
            redis.Redis.from_url(env["REDIS_URL"]).flushdb()
        shutil.rmtree(workdir, ignore_errors=True)

    accepted = statuses.get(201, 0)
    latencies.sort()
    generator_cpu = (own_after.ru_utime + own_after.ru_stime) - (own_before.ru_utime + own_before.ru_stime)
    per_request = {name: (after[name] - before[name]) * 1000 / max(accepted, 1) for name in before}
    print(f"api_ingest database={args.database} broker={args.broker} requests={len(latencies)} "
          f"concurrency={args.concurrency} api_workers={args.api_workers} offered={f'{args.rate:.0f}/s' if args.rate else 'as fast as it answers'}")
    print(f"  statuses            {dict(sorted(statuses.items()))}")
    print(f"  accepted per second {accepted / elapsed:,.0f}")
    print(f"  latency p50         {statistics.median(latencies) * 1000:.1f} ms")
    print(f"  latency p99         {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms")
    print(f"  CPU per accepted    api {per_request['api']:.2f} ms, postgres {per_request['postgres']:.2f} ms, "
          f"redis {per_request['redis']:.2f} ms (load generator {generator_cpu * 1000 / max(accepted, 1):.2f} ms)")


if __name__ == "__main__":
    main()
