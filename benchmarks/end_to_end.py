"""Texts delivered per second end to end, how fast each is handed to a provider, and CPU per text.

Starts the sandbox, `clarion api` and `clarion worker` as their own processes on a scratch database,
sets the sandbox's MMG and Firetext to answer after `--latency-ms` (100 ms by default) and to post
each receipt after `--receipt-delay-s`, then sends `--count` texts through the public API at
`--rate` per second (or as fast as the API accepts them) and waits until every one is `delivered`.

It prints:
- delivered per second: texts / (last delivered - first accepted);
- the share handed to a provider within 1 s and within 10 s of being accepted (sent_at - created_at);
- CPU per text for its whole life (accept, send, receipt), from /proc, per process: the API, the
  worker, the sandbox (the stand-in for the providers, so reported apart), PostgreSQL, Redis and the
  load generator.

    python benchmarks/end_to_end.py --count 6000 --rate 350        # PostgreSQL + Redis (the default)
    python benchmarks/end_to_end.py --database sqlite --broker filesystem --count 1000 --rate 50

Measure on a quiet machine: the API, worker, sandbox, PostgreSQL, Redis and the load generator share
its two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import redis
from sqlalchemy import text

from api_ingest import (Tokens, api_cpu, cpu_of, cpu_seconds, drive, drop_database, free_port, prepare_database,
                        seed, wait_until_up)
from clarion.db.engine import make_engine
from clarion.up import sandbox_environment

SECRET = "benchmark-secret"
RECEIPT_TOKEN = "benchmark-receipt-token"
REDIS_DB = "redis://127.0.0.1:6379/13"


def environment(url: str, workdir: Path, *, broker: str, api_port: int, sandbox_port: int,
                receipt_delay_s: float) -> dict[str, str]:
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    api = f"http://127.0.0.1:{api_port}"
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET, "ENVIRONMENT": "test",
           "API_PORT": str(api_port), "API_HOST_NAME": api, "SANDBOX_PORT": str(sandbox_port),
           "SANDBOX_RECEIPT_DELAY_S": str(receipt_delay_s)}
    smtp_port = free_port()
    env["SANDBOX_SMTP_PORT"] = str(smtp_port)
    env.update(sandbox_environment(sandbox_url=sandbox, api_url=api, smtp_port=smtp_port,
                                   receipt_token=RECEIPT_TOKEN, environ={}))
    if broker == "redis":
        env["BROKER_URL"] = env["REDIS_URL"] = REDIS_DB
    else:
        env["BROKER_URL"] = f"filesystem://{workdir}/broker"
    return env


def set_faults(sandbox_port: int, provider: str, **faults: float) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{sandbox_port}/_sandbox/faults/{provider}",
                                     data=json.dumps(faults).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as reply:
        reply.read()


def progress(url: str, run_started: float) -> tuple[int, int, int]:
    """(total, handed over, delivered) among the notifications created since `run_started`."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(text(
                "SELECT count(*), count(sent_at), count(*) FILTER (WHERE status = 'delivered') FROM notifications"
                if url.startswith("postgresql") else
                "SELECT count(*), count(sent_at), sum(status = 'delivered') FROM notifications")).one()
        return int(row[0]), int(row[1]), int(row[2] or 0)
    finally:
        engine.dispose()


def timings(url: str) -> list[tuple[float, float | None, float | None, str]]:
    """(created, sent, last updated, status) of every notification, as epoch seconds."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT created_at, sent_at, updated_at, status FROM notifications")).all()
    finally:
        engine.dispose()

    def seconds(value: object) -> float | None:
        return None if value is None else value.timestamp()  # type: ignore[attr-defined]

    return [(seconds(r[0]), seconds(r[1]), seconds(r[2]), r[3]) for r in rows]  # type: ignore[misc]


def start(name: str, args: list[str], env: dict[str, str], workdir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "clarion", *args], env=env, cwd=workdir,
                            stderr=open(workdir / f"{name}.log", "wb"), stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--broker", choices=["filesystem", "redis"], default="redis")
    parser.add_argument("--count", type=int, default=6400, help="texts to send (a multiple of --concurrency)")
    parser.add_argument("--rate", type=float, help="texts offered per second (default: as fast as accepted)")
    parser.add_argument("--concurrency", type=int, default=32, help="load generator connections")
    parser.add_argument("--latency-ms", type=int, default=100, help="provider answer latency")
    parser.add_argument("--receipt-delay-s", type=float, default=1.0)
    parser.add_argument("--worker-concurrency", type=int, default=8, help="threads in the worker's Celery pool")
    parser.add_argument("--timeout-s", type=float, default=300, help="give up waiting for receipts after this")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="clarion-e2e-"))
    url = prepare_database(args.database, workdir)
    api_key, template_id = seed(url)
    api_port, sandbox_port = free_port(), free_port()
    env = environment(url, workdir, broker=args.broker, api_port=api_port, sandbox_port=sandbox_port,
                      receipt_delay_s=args.receipt_delay_s)
    if args.broker == "redis":
        redis.Redis.from_url(REDIS_DB).flushdb()
    processes = {
        "sandbox": start("sandbox", ["sandbox"], env, workdir),
        "api": start("api", ["api"], env, workdir),
        "worker": start("worker", ["worker", "--concurrency", str(args.worker_concurrency)], env, workdir),
    }
    try:
        wait_until_up(sandbox_port, processes["sandbox"])
        wait_until_up(api_port, processes["api"])
        for provider in ("mmg", "firetext"):
            set_faults(sandbox_port, provider, latency_ms=args.latency_ms)
        time.sleep(2)  # the worker connects to the broker
        before = {name: cpu_seconds(p.pid) for name, p in processes.items()}
        before["api"] = api_cpu(processes["api"].pid)
        before |= {"postgres": cpu_of("postgres"), "redis": cpu_of("redis-server")}
        own_before = resource.getrusage(resource.RUSAGE_SELF)
        _, statuses, send_s = asyncio.run(drive(api_port, Tokens(api_key), template_id, args.count,
                                                args.concurrency, args.rate))
        own_after = resource.getrusage(resource.RUSAGE_SELF)
        accepted = statuses.get(201, 0)
        deadline = time.monotonic() + args.timeout_s
        while time.monotonic() < deadline:
            total, handed, delivered = progress(url, 0)
            if delivered >= accepted:
                break
            time.sleep(0.5)
        after = {name: cpu_seconds(p.pid) for name, p in processes.items()}
        after["api"] = api_cpu(processes["api"].pid)
        after |= {"postgres": cpu_of("postgres"), "redis": cpu_of("redis-server")}
        rows = timings(url)
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        drop_database(url)
        if args.broker == "redis":
            redis.Redis.from_url(REDIS_DB).flushdb()
        kept = os.environ.get("KEEP_BENCH_LOGS")
        if not kept:
            shutil.rmtree(workdir, ignore_errors=True)

    delivered_rows = [r for r in rows if r[3] == "delivered"]
    first_created = min(r[0] for r in rows)
    last_delivered = max((r[2] for r in delivered_rows if r[2] is not None), default=first_created)
    handoff = sorted(r[1] - r[0] for r in rows if r[1] is not None)

    def within(seconds: float) -> float:
        """The share of all texts handed to a provider within `seconds` of being accepted."""
        return sum(1 for delay in handoff if delay <= seconds) / max(len(rows), 1)

    per_text = {name: (after[name] - before[name]) * 1000 / max(accepted, 1) for name in before}
    clarion_ms = per_text["api"] + per_text["worker"]
    generator_ms = ((own_after.ru_utime + own_after.ru_stime) - (own_before.ru_utime + own_before.ru_stime)) \
        * 1000 / max(accepted, 1)
    print(f"end_to_end database={args.database} broker={args.broker} count={args.count} "
          f"offered={f'{args.rate:.0f}/s' if args.rate else 'as fast as accepted'} latency={args.latency_ms} ms "
          f"receipt_delay={args.receipt_delay_s} s worker_threads={args.worker_concurrency}")
    print(f"  accepted            {accepted} of {args.count} in {send_s:.1f} s ({accepted / send_s:,.0f}/s)")
    print(f"  delivered           {len(delivered_rows)} ({len(delivered_rows) / max(last_delivered - first_created, 1e-9):,.0f}/s "
          f"from first accepted to last delivered)")
    statuses_seen: dict[str, int] = {}
    for r in rows:
        statuses_seen[r[3]] = statuses_seen.get(r[3], 0) + 1
    print(f"  final statuses      {dict(sorted(statuses_seen.items()))}")
    if handoff:
        print(f"  handed over         {within(1.0):.1%} within 1 s, {within(10.0):.1%} within 10 s "
              f"(p50 {handoff[len(handoff) // 2] * 1000:.0f} ms, p99 {handoff[int(len(handoff) * 0.99) - 1] * 1000:.0f} ms)")
    print(f"  CPU per text        clarion {clarion_ms:.2f} ms (api {per_text['api']:.2f}, worker {per_text['worker']:.2f}); "
          f"postgres {per_text['postgres']:.2f}, redis {per_text['redis']:.2f}; sandbox {per_text['sandbox']:.2f}; "
          f"load generator {generator_ms:.2f}")


if __name__ == "__main__":
    main()
