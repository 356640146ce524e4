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
it. `letters_due` finds the letters either way, from the clock it is given.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import Clock
from clarion.db.models import Notification
from clarion.delivery import status
from clarion.delivery.letters import LONDON, move_status, release_claim
from clarion.delivery.send import Run, run_here
from clarion.letters import LetterStore, letter_key
from clarion.providers.errors import PermanentProviderError
from clarion.providers.letter import DvlaDuplicatePrintRequest, LetterClient, PrintJob

__all__ = [
    "PdfMissing", "PrintOutcome", "PrintResult", "SendMode", "SendingNotRecorded", "due_window", "latest_cutoff",
    "letters_due", "record_sending", "send_letters",
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
                 run: Run = run_here) -> list[PrintResult]:
    """Hand each ready letter to the printer, all at once; one result per id, in order."""
    results: dict[UUID, PrintResult] = {}
    with sessions.begin() as session:
        jobs = _claim_jobs(session, notification_ids, now=clock.now(), lasts=claim_lasts)
    calls = {run(_print(job, pdfs, client)): job for job in jobs}  # no connection held from here
    while calls:
        done, _ = wait(calls, return_when=FIRST_COMPLETED)
        accepted = []
        for future in done:
            job = calls.pop(future)
            notification_id, error = UUID(job.notification_id), future.exception()
            if error is None or isinstance(error, DvlaDuplicatePrintRequest):
                accepted.append(notification_id)
            elif isinstance(error, PdfMissing | PermanentProviderError):
                results[notification_id] = _give_up(notification_id, str(error), sessions=sessions, clock=clock)
            else:
                release_claim(sessions, notification_id, clock=clock)
                results[notification_id] = PrintResult(notification_id, error=error)
        if accepted:
            results.update(_record(accepted, provider=client.name, sessions=sessions, clock=clock))
    return [results.get(i) or PrintResult(i, PrintOutcome.SKIPPED) for i in notification_ids]


async def _print(job: PrintJob, pdfs: LetterStore, client: LetterClient) -> None:
    pdf = await asyncio.to_thread(pdfs.get, letter_key(UUID(job.notification_id)))  # boto3 blocks
    if pdf is None:
        raise PdfMissing(f"letter {job.notification_id} has no PDF in the PDF store")
    await client.send_letter(job, pdf)


def _give_up(notification_id: UUID, reason: str, *, sessions: sessionmaker[Session], clock: Clock) -> PrintResult:
    log.warning("letter technical failure", extra={"notification_id": str(notification_id), "reason": reason})
    with sessions.begin() as session:
        moved = move_status(session, notification_id, status.TECHNICAL_FAILURE, now=clock.now(),
                            failure_reason=reason, delivery_claimed_at=None)
    return PrintResult(notification_id, PrintOutcome.TECHNICAL_FAILURE if moved else PrintOutcome.SKIPPED)


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
