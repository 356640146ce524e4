"""Handing ready letters to the print provider (DVLA), as soon as they are ready or in a daily batch.

A letter is ready when it is `created` with its PDF stored and its sheets counted
(`clarion.delivery.letters`). Sending claims a batch of ready letters in one short transaction (so no
letter is ever sent twice on purpose: a second copy of the message finds the claims), reads each PDF
and posts every print job at once on the provider event loop with no connection held, and records
the hand-offs as they finish: `sending`, with `sent_at` and `sent_by`. DVLA's 409 means it already
has the job from an earlier attempt, so it counts as accepted. A permanent refusal, or a PDF that is
gone, ends `technical-failure`; anything else comes back to the caller to retry.

LETTERS_SEND_MODE picks when letters go: `as_ready` (each batch is sent once prepared; `clarion up`'s
default, so a letter reaches DVLA within seconds) or `daily`, as Notify does: everything ready and made
before the day's cut-off (LETTERS_CUTOFF_TIME, UK time; Notify collates at 17:30) goes together after
it. `letters_due` finds the letters either way, from the clock it is given; `collect_due` also stamps
them, so a letter is queued again only once its `settle` time has passed with nothing touching it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import Clock
from clarion.db.models import Notification
from clarion.delivery import apply, status
from clarion.delivery.letters import LONDON, release_claim
from clarion.delivery.send import Run, run_here
from clarion.letters import LetterStore, letter_key
from clarion.providers.errors import PermanentProviderError
from clarion.providers.letter import DvlaDuplicatePrintRequest, LetterClient, PrintJob

__all__ = [
    "PdfMissing", "PrintOutcome", "PrintResult", "SendMode", "SendingNotRecorded", "collect_due", "due_window",
    "latest_cutoff", "letters_due", "record_sending", "send_letters", "stamp_collected",
]

log = logging.getLogger(__name__)
notifications = Notification.__table__

SendMode = Literal["as_ready", "daily"]


class PrintOutcome(StrEnum):
    """What one attempt to hand a letter to the printer did."""

    SKIPPED = "skipped"  # not ready (already sent, failed, not prepared) or claimed by another worker
    SENDING = "sending"  # the printer has it
    TECHNICAL_FAILURE = "technical-failure"  # refused for good, or its PDF is gone


@dataclass(frozen=True)
class PrintResult:
    """The outcome for one letter, or the error to retry it on."""

    notification_id: UUID
    outcome: PrintOutcome | None = None
    error: Exception | None = None


class PdfMissing(Exception):
    """The letter is ready but its PDF is not in the PDF store: it cannot be printed."""


class SendingNotRecorded(Exception):
    """The printer accepted the letter but the database did not record it; never retry at once."""

    def __init__(self, notification_id: UUID) -> None:
        super().__init__(f"the printer accepted letter {notification_id} but the hand-off was not recorded")


def send_letters(notification_ids: Sequence[UUID], *, sessions: sessionmaker[Session], pdfs: LetterStore,
                 client: LetterClient, clock: Clock, claim_lasts: timedelta = timedelta(minutes=5),
                 run: Run = run_here, pdf_readers: int = 8) -> list[PrintResult]:
    """Hand each ready letter to the printer, all at once; one result per id, in order.

    At most `pdf_readers` threads read PDFs from the store at a time (LETTER_PDF_READERS), so reads
    never crowd out the event loop's default executor. Every call that starts is waited for and its
    outcome recorded, even when a database write for another letter fails.
    """
    results: dict[UUID, PrintResult] = {}
    with sessions.begin() as session:
        jobs = _claim_jobs(session, notification_ids, now=clock.now(), lasts=claim_lasts)
    if not jobs:
        return [PrintResult(i, PrintOutcome.SKIPPED) for i in notification_ids]
    with ThreadPoolExecutor(max_workers=max(1, pdf_readers), thread_name_prefix="letter-pdf") as readers:
        calls = {_start(run, _print(job, pdfs, client, readers)): job for job in jobs}  # no connection held
        pending = set(calls)
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                results.update(_settle([(calls[f], f) for f in done], provider=client.name, sessions=sessions,
                                       clock=clock))
        finally:
            if pending:  # only when something above raised: still wait for every call and record it
                wait(pending)
                results.update(_settle([(calls[f], f) for f in pending], provider=client.name, sessions=sessions,
                                       clock=clock))
    return [results.get(i) or PrintResult(i, PrintOutcome.SKIPPED) for i in notification_ids]


def _start(run: Run, call: Coroutine[Any, Any, None]) -> Future[None]:
    """The call running on the provider loop, or a future holding the reason it could not start."""
    try:
        return run(call)
    except Exception as exc:  # the loop is closed, say: the letter is retried like any failed call
        call.close()
        failed: Future[None] = Future()
        failed.set_exception(exc)
        return failed


def _settle(finished: list[tuple[PrintJob, Future[None]]], *, provider: str, sessions: sessionmaker[Session],
            clock: Clock) -> dict[UUID, PrintResult]:
    """Record what finished calls did; a database write that fails becomes that letter's error result."""
    results: dict[UUID, PrintResult] = {}
    accepted = []
    for job, future in finished:
        notification_id, error = UUID(job.notification_id), _error_of(future)
        if error is None or isinstance(error, DvlaDuplicatePrintRequest):
            accepted.append(notification_id)
        elif isinstance(error, PdfMissing | PermanentProviderError):
            results[notification_id] = _give_up(notification_id, str(error), sessions=sessions, clock=clock)
        else:
            results[notification_id] = _release(notification_id, error, sessions=sessions, clock=clock)
    if accepted:  # the hand-offs first: a letter DVLA has must never look unsent
        results.update(_record(accepted, provider=provider, sessions=sessions, clock=clock))
    return results


def _error_of(future: Future[None]) -> Exception | None:
    if future.cancelled():  # the provider loop shut down under the call: whether DVLA has it is unknown
        return CancelledError("the print call was cancelled")
    error = future.exception()
    return error if error is None or isinstance(error, Exception) else RuntimeError(repr(error))


async def _print(job: PrintJob, pdfs: LetterStore, client: LetterClient, readers: Executor) -> None:
    key = letter_key(UUID(job.notification_id))
    pdf = await asyncio.get_running_loop().run_in_executor(readers, pdfs.get, key)  # boto3 and files block
    if pdf is None:
        raise PdfMissing(f"letter {job.notification_id} has no PDF in the PDF store")
    await client.send_letter(job, pdf)


def _give_up(notification_id: UUID, reason: str, *, sessions: sessionmaker[Session], clock: Clock) -> PrintResult:
    log.warning("letter technical failure", extra={"notification_id": str(notification_id), "reason": reason})
    try:
        with sessions.begin() as session:
            moved = apply.apply_status(session, notification_id, status.TECHNICAL_FAILURE, now=clock.now(),
                                failure_reason=reason, delivery_claimed_at=None)
    except Exception as exc:
        # Its claim holds it until it lapses; then collation sends it again and the printer refuses it again.
        log.exception("could not record a letter's technical failure", extra={"notification_id": str(notification_id)})
        return PrintResult(notification_id, error=exc)
    return PrintResult(notification_id, PrintOutcome.TECHNICAL_FAILURE if moved else PrintOutcome.SKIPPED)


def _release(notification_id: UUID, error: Exception, *, sessions: sessionmaker[Session],
             clock: Clock) -> PrintResult:
    """The attempt failed for now: let go of the claim so the retry can take the letter."""
    try:
        release_claim(sessions, notification_id, clock=clock)
    except Exception:  # the claim lapses by itself; the retry or collation takes the letter after that
        log.exception("could not release a letter's claim", extra={"notification_id": str(notification_id)})
    return PrintResult(notification_id, error=error)


def _record(accepted: list[UUID], *, provider: str, sessions: sessionmaker[Session],
            clock: Clock) -> dict[UUID, PrintResult]:
    try:
        with sessions.begin() as session:
            record_sending(session, accepted, provider=provider, now=clock.now())
    except Exception:
        # DVLA has them: a retry now would post them again. Their claims hold them until they lapse;
        # then collation finds them ready, and DVLA's 409 for the repeat records them as sent.
        log.exception("DVLA accepted letters the database did not record", extra={"count": len(accepted)})
        return {i: PrintResult(i, error=SendingNotRecorded(i)) for i in accepted}
    return {i: PrintResult(i, PrintOutcome.SENDING) for i in accepted}


def record_sending(session: Session, notification_ids: Sequence[UUID], *, provider: str, now: datetime) -> None:
    """Record the hand-offs and move each letter to `sending`, unless a callback already moved it on."""
    n = notifications.c
    moves = n.status.in_(sorted(status.previous_statuses(status.SENDING)))
    session.execute(update(notifications).where(n.id.in_(notification_ids)).values(
        status=case((moves, status.SENDING), else_=n.status), sent_at=now, sent_by=provider, updated_at=now,
        delivery_claimed_at=None))


def _ready(now: datetime, lasts: timedelta) -> Any:
    n = notifications.c
    return and_(n.notification_type == "letter", n.status == status.CREATED, n.billable_units > 0,
                n.key_type != "test", or_(n.delivery_claimed_at.is_(None), n.delivery_claimed_at < now - lasts))


def _claim_jobs(session: Session, notification_ids: Sequence[UUID], *, now: datetime,
                lasts: timedelta) -> list[PrintJob]:
    n = notifications.c
    claimed = session.execute(update(notifications).where(n.id.in_(notification_ids), _ready(now, lasts))
                              .values(delivery_claimed_at=now).returning(n.id)).scalars().all()
    if len(claimed) < len(notification_ids):
        log.info("not sending letters that are not ready or already claimed",
                 extra={"count": len(notification_ids) - len(claimed)})
    if not claimed:
        return []
    rows = session.execute(select(n.id, n.reference, n.to, n.postage, n.service_id).where(n.id.in_(claimed))).all()
    return [PrintJob(notification_id=str(row.id), reference=row.reference or row.id.hex[:16].upper(),
                     address_lines=tuple(row.to.split("\n")), postage=row.postage or "second",
                     service_id=str(row.service_id), organisation_id=None)  # clarion has no organisations
            for row in rows]


def latest_cutoff(now: datetime, at: time, *, zone: Any = LONDON) -> datetime:
    """The most recent moment, at or before `now`, when the clock in `zone` read `at` (as UTC)."""
    local = now.astimezone(zone)
    cutoff = datetime.combine(local.date(), at, tzinfo=zone)
    if cutoff > local:
        cutoff = datetime.combine(local.date() - timedelta(days=1), at, tzinfo=zone)
    return cutoff.astimezone(UTC)


def due_window(mode: SendMode, now: datetime, *, cutoff_time: time, settle: timedelta) -> tuple[datetime, datetime]:
    """(made before, untouched since): which ready letters are due now.

    `daily`: those made before the latest cut-off. `as_ready`: any, since each batch is queued to the
    printer once prepared; this finds only those whose message was lost. Either way a letter touched
    within `settle` (just prepared, or waiting for a retry) is left to the message already queued.
    """
    made_before = latest_cutoff(now, cutoff_time) if mode == "daily" else now
    return made_before, now - settle


def letters_due(session: Session, *, made_before: datetime, untouched_since: datetime, now: datetime,
                lasts: timedelta, limit: int) -> list[UUID]:
    """Ready letters made before `made_before` and untouched since `untouched_since`, oldest first."""
    n = notifications.c
    return list(session.execute(
        select(n.id).where(_ready(now, lasts), n.created_at < made_before,
                           or_(n.updated_at.is_(None), n.updated_at < untouched_since))
        .order_by(n.created_at).limit(limit)
    ).scalars())


def collect_due(session: Session, *, made_before: datetime, untouched_since: datetime, now: datetime,
                lasts: timedelta, limit: int) -> list[UUID]:
    """`letters_due`, each stamped by `stamp_collected` for the message about to be queued; oldest first."""
    due = letters_due(session, made_before=made_before, untouched_since=untouched_since, now=now, lasts=lasts,
                      limit=limit)
    return stamp_collected(session, due, untouched_since=untouched_since, now=now, lasts=lasts)


def stamp_collected(session: Session, notification_ids: Sequence[UUID], *, untouched_since: datetime,
                    now: datetime, lasts: timedelta) -> list[UUID]:
    """Set `updated_at = now` on the letters still due, so later sweeps leave them to the message being queued.

    A compare-and-set on the conditions they were selected by: of two schedulers that found the same
    letters, only the first to stamp a letter gets it. Returns the ids stamped, in the order given.
    """
    if not notification_ids:
        return []
    n = notifications.c
    stamped = set(session.execute(
        update(notifications)
        .where(n.id.in_(notification_ids), _ready(now, lasts),
               or_(n.updated_at.is_(None), n.updated_at < untouched_since))
        .values(updated_at=now).returning(n.id)
    ).scalars())
    return [i for i in notification_ids if i in stamped]
