"""The `clarion` command: run the processes, and the operator commands that print JSON.

Settings are read from the environment once, here, and passed down. Operator commands print what they
created or changed as JSON on stdout; a refusal is one line on stderr with exit code 1, and changes
nothing (each command is one transaction).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import click
import orjson
from pydantic import ValidationError
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from clarion.clock import SystemClock
from clarion.config import DATA_DIR, Settings
from clarion.crypto import SecretBox
from clarion.db.engine import is_sqlite, make_engine, make_sessions
from clarion.manage.errors import ManageError
from clarion.recipients.errors import InvalidRecipient

# Threads take queue messages; each waits on a batch whose provider calls all run on one event loop.
WORKER_CONCURRENCY = 16
CLI_ACTOR = "cli"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


# Inside `transaction`, output waits until the commit: nothing is shown that was not stored.
_held_output: ContextVar[list[Any] | None] = ContextVar("held_output", default=None)


def echo_json(data: Any) -> None:
    """Print data as indented JSON on stdout (inside a transaction: once it has committed)."""
    held = _held_output.get()
    if held is not None:
        held.append(data)
        return
    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def load_settings() -> Settings:
    """Settings from the environment, or a one-line error naming the bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())).upper()
        detail = first.get("msg", "is not valid").removeprefix("Value error, ")
        raise click.ClickException(f"{where + ': ' if where else ''}{detail}") from None


def settings_of(ctx: click.Context) -> Settings:
    """The settings read once for this invocation."""
    root = ctx.find_root()
    if root.obj is None:
        root.obj = load_settings()
    return root.obj


def ensure_schema(settings: Settings) -> None:
    """Migrate an embedded SQLite database that has no schema yet; ask for `db upgrade` otherwise."""
    from clarion.db.migrate import upgrade

    current, head = schema_revisions(settings.database_url)
    if current == head:
        return
    if current is None and is_sqlite(settings.database_url):
        upgrade(settings.database_url)
        return
    raise click.ClickException(
        f"the database schema is {'missing' if current is None else 'out of date'}; run `clarion db upgrade`")


def schema_revisions(database_url: str) -> tuple[str | None, str | None]:
    """The database's Alembic revision (None without a schema) and the newest one clarion has."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from clarion.db.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None, head
            return MigrationContext.configure(connection).get_current_revision(), head
    finally:
        engine.dispose()


@contextmanager
def transaction(ctx: click.Context, *, conflict: str = "that already exists") -> Iterator[Session]:
    """One transaction on a migrated database; operator errors become a one-line message."""
    settings = settings_of(ctx)
    ensure_schema(settings)
    engine = make_engine(settings.database_url)
    held: list[Any] = []
    token = _held_output.set(held)
    try:
        with make_sessions(engine).begin() as session:
            yield session
    except ManageError as exc:
        raise click.ClickException(str(exc)) from None
    except IntegrityError:
        raise click.ClickException(conflict) from None
    except InvalidRecipient as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"the database refused the change ({type(exc).__name__}); nothing was changed") from None
    finally:
        _held_output.reset(token)
        engine.dispose()
    for data in held:
        echo_json(data)


def now() -> Any:
    """The current time from the real clock."""
    return SystemClock().now()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """clarion: a self-hostable notification service, wire-compatible with GOV.UK Notify."""


# --- processes -----------------------------------------------------------------------------------

@main.command("api")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--access-log/--no-access-log", default=False, help="Log every request.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="API processes sharing the port (default API_WORKERS).")
@click.pass_context
def api_command(ctx: click.Context, host: str, access_log: bool, workers: int | None) -> None:
    """Run the HTTP API (public /v2, receipts, /admin, /_status) on API_PORT."""
    import uvicorn

    from clarion.logs import configure_logging

    settings = settings_of(ctx)
    if host not in LOOPBACK_HOSTS and settings.uses_local_secrets:
        raise click.ClickException(
            f"refusing to serve on {host} with the local default SECRET_KEY or ADMIN_CLIENT_SECRET, which "
            "anyone can read in clarion's source; set both to secrets of your own first")
    configure_logging("api")
    # Each worker process builds its own app (engines, caches, limits) from the same environment.
    uvicorn.run("clarion.api.app:create_app_from_environment", factory=True, workers=workers or settings.api_workers,
                host=host, port=settings.api_port, loop="auto", http="auto", log_config=None,
                access_log=access_log, server_header=False)


@main.command("worker")
@click.option("--concurrency", default=WORKER_CONCURRENCY, show_default=True, help="Threads in the pool.")
@click.option("--queues", default=lambda: _all_queues(), show_default="every clarion queue")
@click.pass_context
def worker_command(ctx: click.Context, concurrency: int, queues: str) -> None:
    """Run a Celery worker: delivery, receipts and callbacks."""
    celery_app = _celery(ctx, "worker")
    metrics_port = settings_of(ctx).worker_metrics_port
    if metrics_port:  # provider request counters and timings, for Prometheus to scrape
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    worker = celery_app.Worker(**worker_options(concurrency=concurrency, queues=queues))
    try:
        worker.start()
    finally:
        from clarion.worker.context import close_context

        close_context(celery_app)
    sys.exit(worker.exitcode)


def _all_queues() -> str:
    from clarion.worker.queues import ALL_QUEUES  # imported here: importing clarion.worker loads Celery

    return ",".join(ALL_QUEUES)


def worker_options(*, concurrency: int, queues: str) -> dict[str, Any]:
    """What `celery worker` gets: a thread pool on clarion's queues, no banner, no broadcast chatter.

    The same as `celery worker --pool=threads --concurrency=8 --queues=... --without-gossip
    --without-mingle --hostname=clarion-worker@%h`, minus the banner on stdout.
    """
    from celery.utils.nodenames import host_format

    return {"pool_cls": "threads", "concurrency": concurrency, "queues": queues.split(","), "loglevel": "INFO",
            "without_gossip": True, "without_mingle": True, "quiet": True,
            "hostname": host_format("clarion-worker@%h")}


@main.command("scheduler")
@click.pass_context
def scheduler_command(ctx: click.Context) -> None:
    """Run Celery beat: slow-delivery checks, tend-back and sweepers."""
    celery_app = _celery(ctx, "scheduler")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    celery_app.Beat(schedule=str(DATA_DIR / "celerybeat-schedule"), loglevel="INFO", quiet=True).run()


def _celery(ctx: click.Context, process_name: str) -> Any:
    from celery.signals import setup_logging

    from clarion.logs import configure_logging
    from clarion.worker.app import make_celery

    settings = settings_of(ctx)

    @setup_logging.connect(weak=False)
    def _json_logging(**_: Any) -> None:  # connected, so Celery leaves logging to us
        configure_logging(process_name)

    configure_logging(process_name)
    return make_celery(settings)


@main.group("sandbox", invoke_without_command=True)
@click.option("--host", default=None, help="Address to bind, or of the running sandbox (default SANDBOX_HOST).")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=None,
              help="HTTP port (default SANDBOX_PORT); SMTP listens on SANDBOX_SMTP_PORT.")
@click.pass_context
def sandbox_group(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run simulated MMG, Firetext, SES and SMTP that post receipts back; `set` injects faults."""
    if ctx.invoked_subcommand is not None:
        return
    from clarion.sandbox import run_sandbox

    settings = settings_of(ctx)
    if (host or settings.sandbox_host) not in LOOPBACK_HOSTS:
        # It posts receipts to whatever URL a request names: reachable from elsewhere, it would relay.
        raise click.ClickException("the sandbox listens on loopback only (127.0.0.1, ::1 or localhost): it posts "
                                   "receipts to any URL a request gives it")
    try:
        run_sandbox(settings, host=host, port=port)
    except OSError as error:
        raise click.ClickException(f"the sandbox cannot listen on {host or settings.sandbox_host} "
                                   f"(port {settings.sandbox_port if port is None else port} or "
                                   f"{settings.sandbox_smtp_port}): {error.strerror or error}") from None


@sandbox_group.command("set")
@click.argument("provider")
@click.option("--error-rate", type=float, help="Share of requests answered 5xx (0..1).")
@click.option("--throttle-rate", type=float, help="Share of requests answered 429 (0..1).")
@click.option("--latency-ms", type=float, help="Added before every answer.")
@click.option("--timeout-rate", type=float, help="Share of requests never answered (0..1).")
@click.option("--receipt-delay-s", type=float, help="Seconds from acceptance to the receipt.")
@click.option("--fail-receipts", type=float,
              help="Share of would-be deliveries whose receipt reports a temporary failure (0..1).")
@click.option("--down/--up", default=None, help="Answer 503 to everything, or stop doing so.")
@click.pass_context
def sandbox_set(ctx: click.Context, provider: str, **changes: float | bool | None) -> None:
    """Change a running sandbox's faults for PROVIDER (mmg, firetext, ses, smtp, ...) and print them."""
    from clarion.sandbox.control_client import ControlError, provider_faults

    settings = settings_of(ctx)
    group = ctx.parent.params if ctx.parent is not None else {}
    host = group.get("host") or settings.sandbox_host
    port = settings.sandbox_port if group.get("port") is None else group["port"]
    url_host = f"[{host}]" if ":" in host else host
    try:
        echo_json(provider_faults(f"http://{url_host}:{port}", provider,
                                  {name: value for name, value in changes.items() if value is not None}))
    except ControlError as error:
        raise click.ClickException(str(error)) from None


@main.command("up")
@click.option("--host", default="127.0.0.1", show_default=True, hidden=True)
@click.option("--exit-after", type=float, default=None, hidden=True, help="Stop everything after N seconds.")
@click.pass_context
def up_command(ctx: click.Context, host: str, exit_after: float | None) -> None:
    """Run everything on this machine: migrate, create a demo service, start api, worker and scheduler."""
    from clarion.up import run_up

    sys.exit(run_up(settings_of(ctx), host=host, exit_after=exit_after, with_sandbox="sandbox" in main.commands))


@main.command("demo")
@click.pass_context
def demo_command(ctx: click.Context) -> None:
    """Create (once) the demo service, print .clarion/demo.json and an example."""
    from clarion.demo import ensure_demo, example

    settings = settings_of(ctx)
    ensure_schema(settings)
    engine = make_engine(settings.database_url)
    try:
        demo = ensure_demo(settings, make_sessions(engine), SystemClock())
    finally:
        engine.dispose()
    echo_json(demo)
    click.echo(example(demo), err=True)


@main.group("db")
def db_group() -> None:
    """The database schema."""


@db_group.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Create or update the schema to the newest version."""
    from clarion.db.migrate import upgrade

    settings = settings_of(ctx)
    upgrade(settings.database_url)
    current, _ = schema_revisions(settings.database_url)
    echo_json({"revision": current})


# --- operator commands ---------------------------------------------------------------------------

@main.group("service")
def service_group() -> None:
    """Services: the teams that send notifications."""


@service_group.command("create")
@click.option("--name", required=True)
@click.option("--trial", is_flag=True, help="Trial mode: send only to the guest list.")
@click.pass_context
def service_create(ctx: click.Context, name: str, trial: bool) -> None:
    """Create a service."""
    from clarion.manage import services

    with transaction(ctx) as session:
        echo_json(services.serialise_service(services.create_service(session, name=name, restricted=trial,
                                                                     now=now())))


@service_group.command("show")
@click.argument("service_id")
@click.pass_context
def service_show(ctx: click.Context, service_id: str) -> None:
    """Show a service."""
    from clarion.manage import services

    with transaction(ctx) as session:
        echo_json(services.serialise_service(services.get_service(session, service_id)))


@main.group("key")
def key_group() -> None:
    """API keys."""


@key_group.command("create")
@click.option("--service", "service_id", required=True)
@click.option("--type", "key_type", required=True, metavar="normal|team|test")
@click.option("--name", required=True)
@click.pass_context
def key_create(ctx: click.Context, service_id: str, key_type: str, name: str) -> None:
    """Create an API key; the full key is printed this once only."""
    from clarion.manage import keys, services

    box = SecretBox(settings_of(ctx).secret_key.get_secret_value())
    with transaction(ctx) as session:
        service = services.get_service(session, service_id)
        created = keys.create_api_key(session, service, key_type=key_type, name=name, box=box, now=now())
        echo_json(keys.serialise_key(created.key, created.api_key))


@key_group.command("revoke")
@click.argument("key_id")
@click.pass_context
def key_revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke an API key."""
    from clarion.manage import keys

    with transaction(ctx) as session:
        echo_json(keys.serialise_key(keys.revoke_api_key(session, parse_uuid(key_id, "API key"), now=now())))


@main.group("template")
def template_group() -> None:
    """Templates."""


@template_group.command("create")
@click.option("--service", "service_id", required=True)
@click.option("--type", "template_type", required=True, metavar="sms|email|letter")
@click.option("--name", required=True)
@click.option("--body", required=True, help="The text, with ((placeholders)).")
@click.option("--subject", help="Needed for email and letter templates.")
@click.option("--postage", help="Letters: first, second, economy, europe or rest-of-world.")
@click.option("--letter-contact-block")
@click.pass_context
def template_create(ctx: click.Context, service_id: str, template_type: str, name: str, body: str,
                    subject: str | None, postage: str | None, letter_contact_block: str | None) -> None:
    """Create a template."""
    from clarion.manage import services, templates

    with transaction(ctx) as session:
        service = services.get_service(session, service_id)
        template = templates.create_template(session, service, template_type=template_type, name=name,
                                             content=body, subject=subject, postage=postage,
                                             letter_contact_block=letter_contact_block, created_by=CLI_ACTOR,
                                             now=now())
        echo_json(templates.serialise_template(template))


@main.group("sms-sender")
def sms_sender_group() -> None:
    """Sender names and numbers for text messages."""


@sms_sender_group.command("create")
@click.option("--service", "service_id", required=True)
@click.option("--sender", required=True, help="Up to 11 characters, or a number.")
@click.option("--default", "is_default", is_flag=True)
@click.pass_context
def sms_sender_create(ctx: click.Context, service_id: str, sender: str, is_default: bool) -> None:
    """Add an SMS sender to a service."""
    from clarion.manage import senders, services

    with transaction(ctx) as session:
        service = services.get_service(session, service_id)
        row = senders.create_sms_sender(session, service, sender=sender, is_default=is_default, now=now())
        echo_json(senders.serialise_sms_sender(row))


@main.group("reply-to")
def reply_to_group() -> None:
    """Reply-to addresses for emails."""


@reply_to_group.command("create")
@click.option("--service", "service_id", required=True)
@click.option("--email", required=True)
@click.option("--default", "is_default", is_flag=True)
@click.pass_context
def reply_to_create(ctx: click.Context, service_id: str, email: str, is_default: bool) -> None:
    """Add a reply-to address to a service."""
    from clarion.manage import senders, services

    with transaction(ctx) as session:
        service = services.get_service(session, service_id)
        row = senders.create_reply_to(session, service, email_address=email, is_default=is_default, now=now())
        echo_json(senders.serialise_reply_to(row))


@main.group("guest-list")
def guest_list_group() -> None:
    """Who a trial service, or a team key, may send to."""


@guest_list_group.command("add")
@click.option("--service", "service_id", required=True)
@click.argument("recipient")
@click.pass_context
def guest_list_add(ctx: click.Context, service_id: str, recipient: str) -> None:
    """Add a phone number or email address to a service's guest list."""
    from clarion.manage import services

    with transaction(ctx, conflict=f"{recipient} is already on the guest list") as session:
        service = services.get_service(session, service_id)
        entry = services.add_to_guest_list(session, service, recipient, now=now())
        echo_json({"id": str(entry.id), "service_id": str(entry.service_id),
                   "recipient_type": entry.recipient_type, "recipient": entry.recipient})


@main.group("providers", invoke_without_command=True)
@click.pass_context
def providers_group(ctx: click.Context) -> None:
    """List providers; `set` and `history` change and audit them."""
    if ctx.invoked_subcommand is not None:
        return
    from clarion.manage import providers

    with transaction(ctx) as session:
        echo_json([providers.serialise_provider(p) for p in providers.list_providers(session)])


@providers_group.command("set")
@click.argument("identifier")
@click.option("--priority", type=int, help="0..100; for SMS, the provider's share of traffic (the others are rebalanced).")
@click.option("--active", type=click.BOOL, metavar="true|false")
@click.option("--reason", required=True, help="Why; kept in the provider's history.")
@click.option("--type", "notification_type", metavar="sms|email|letter", help="If the identifier serves several.")
@click.pass_context
def providers_set(ctx: click.Context, identifier: str, priority: int | None, active: bool | None, reason: str,
                  notification_type: str | None) -> None:
    """Set a provider's priority or active flag by hand."""
    from clarion.manage import providers

    with transaction(ctx) as session:
        provider = providers.get_provider(session, identifier, notification_type)
        changes = providers.set_provider(session, provider, reason=reason, actor=CLI_ACTOR, now=now(),
                                         priority=priority, active=active,
                                         resting=settings_of(ctx).sms_provider_resting_points)
        echo_json({**providers.serialise_provider(provider), "changes": [change.to_json() for change in changes]})


@providers_group.command("history")
@click.argument("identifier", required=False)
@click.option("--type", "notification_type", metavar="sms|email|letter", help="Only this channel's providers.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@click.pass_context
def providers_history(ctx: click.Context, identifier: str | None, notification_type: str | None, limit: int,
                      as_json: bool) -> None:
    """Weight changes, newest first: when, which provider, old and new weight, why, and who."""
    from clarion.manage import providers

    with transaction(ctx) as session:
        provider = providers.get_provider(session, identifier, notification_type) if identifier else None
        rows = providers.history(session, provider=provider, notification_type=notification_type, limit=limit)
        lines = [providers.serialise_provider(row) for row in rows]
    if as_json:
        for line in lines:
            click.echo(orjson.dumps(line).decode())
        return
    click.echo(f"{'when (UTC)':<20} {'type':<6} {'provider':<10} {'weight':>11} {'active':<6}  {'actor':<16} reason")
    for line in lines:
        old = "" if line["previous_priority"] is None else f"{line['previous_priority']} → "
        when = (line["updated_at"] or "")[:19].replace("T", " ")
        click.echo(f"{when:<20} {line['notification_type']:<6} {line['identifier']:<10} "
                   f"{old + str(line['priority']):>11} {str(line['active']).lower():<6}  "
                   f"{line['created_by'] or '':<16} {line['reason'] or ''}")


@main.command("simulate")
@click.argument("scenario_file", metavar="SCENARIO.json", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "timeline", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the timeline CSV here: one row per simulated minute.")
@click.option("--changes", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every weight change here, one JSON object per line.")
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path), help="Draw the run as a PNG here.")
def simulate_command(scenario_file: Path, timeline: Path | None, changes: Path | None, chart: Path | None) -> None:
    """Run clarion's routing policy through a scenario on a virtual clock; print what happened."""
    import logging
    import time

    from clarion.simulator import ScenarioError, load_scenario, simulate
    from clarion.simulator.report import summary, write_changes, write_timeline

    try:
        scenario = load_scenario(scenario_file)
    except ScenarioError as exc:
        raise click.ClickException(str(exc)) from None
    logging.getLogger("clarion").setLevel(logging.ERROR)  # a run makes thousands of changes: the summary says it
    started = time.perf_counter()
    try:
        simulation = simulate(scenario)
    except ScenarioError as exc:
        raise click.ClickException(str(exc)) from None
    if timeline:
        write_timeline(simulation, timeline)
    if changes:
        write_changes(simulation, changes)
    if chart:
        from clarion.simulator.chart import draw_chart

        draw_chart(simulation, chart)
    echo_json({**summary(simulation), "seconds_taken": round(time.perf_counter() - started, 1)})
    if simulation.lost or simulation.invariant_breaks:
        raise click.ClickException(f"{simulation.lost} messages lost; weights broke their bounds: "
                                   f"{simulation.invariant_breaks[:3]}")


def parse_uuid(value: str, what: str) -> uuid.UUID:
    """A UUID, or a one-line error saying which id was malformed."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise click.ClickException(f"{what} id {value!r} is not a valid UUID") from None


__all__ = ["main", "worker_options"]
