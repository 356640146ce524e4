"""Getting letters ready to print: a template letter is rendered to PDF, a precompiled one is scanned
and checked; both end in the PDF store with their sheets recorded as billable units.

  template letter   created, 0 units --render--> created, units = sheets (ready; PDF in the PDF store)
                                              `-> validation-failed "letter-too-long" (PDF kept in the scan store)
  precompiled       pending-virus-check --scan--> virus-scan-failed "virus-detected"
                                     `--check PDF and address--> validation-failed "<Notify's reason>"
                                                             `-> created, units = sheets (ready; PDF moved)
  test key          prepared the same way, but ends (or stays) `delivered` and is never printed
                    (one that cannot be rendered stays `delivered` with the reason as failure_reason)

A letter is ready to print when it is `created` with billable units; `clarion.delivery.letter_printing`
hands ready letters to DVLA. A queue message carries a batch of ids: they are claimed and read in one
short transaction (a second copy of the message finds the claims and does nothing), then each letter is
prepared with no connection held and its outcome written in its own short transaction. Statuses only
move by compare-and-set on the current status (the table in `clarion.delivery.status`).

A store, scanner or database that fails for a while comes back as an error for that letter alone (the
rest of the batch is prepared) for the caller to retry; a letter that can never be prepared (its PDF
vanished, rendering fails) ends `technical-failure`. Invalid PDFs stay in the scan store (Notify's
invalid-PDF bucket), so GET .../pdf can show what was refused.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import Clock
from clarion.db.models import Notification, Service, TemplateHistory
from clarion.delivery import apply, status
from clarion.delivery.intake import INTERNATIONAL_LETTERS
from clarion.letters import (
    LetterContent,
    LetterStores,
    RefusedLetter,
    Scanner,
    StorageError,
    check_precompiled,
    letter_key,
    render_pdf,
)
from clarion.letters.fonts import DEFAULT_FONTS, LetterFonts
from clarion.letters.precompiled import LETTER_MAX_PAGES, LETTER_TOO_LONG
from clarion.recipients import postal_address

__all__ = [
    "LONDON", "LetterOptions", "PrepareOutcome", "PrepareResult", "ScannerUnavailable",
    "VIRUS_DETECTED", "give_up_on_unchecked", "prepare_letters", "release_claim",
    "requeue_unprepared",
]

log = logging.getLogger(__name__)
notifications = Notification.__table__
services = Service.__table__
templates = TemplateHistory.__table__

VIRUS_DETECTED = "virus-detected"
LONDON = ZoneInfo("Europe/London")  # letters are dated, and collated, in UK time


class PrepareOutcome(StrEnum):
    """What preparing one letter did."""

    SKIPPED = "skipped"  # already prepared, claimed by another worker, or not a letter
    READY = "ready"  # `created` with its PDF stored: DVLA may have it
    TEST_KEY = "test-key"  # a test-key letter's PDF was stored; it is `delivered` and never printed
    TEST_KEY_NOT_PREPARED = "test-key-not-prepared"  # stays `delivered`, with no PDF and the reason recorded
    VALIDATION_FAILED = "validation-failed"
    VIRUS_SCAN_FAILED = "virus-scan-failed"
    TECHNICAL_FAILURE = "technical-failure"


@dataclass(frozen=True)
class PrepareResult:
    """The outcome for one letter, or the error to retry it on."""

    notification_id: UUID
    outcome: PrepareOutcome | None = None
    error: Exception | None = None


@dataclass(frozen=True)
class LetterOptions:
    """The settings preparing letters needs (from Settings at the edge)."""

    max_pages: int = LETTER_MAX_PAGES  # Settings.letter_max_pages
    fonts: LetterFonts = DEFAULT_FONTS  # Settings.letter_font_path / letter_bold_font_path
    claim_lasts: timedelta = timedelta(minutes=5)  # Settings.delivery_claim_s


class ScannerUnavailable(Exception):
    """clamd could not scan the file this time (unreachable, or it answered an error); retry later."""


@dataclass(frozen=True)
class _Letter:
    """What preparing one letter needs, read in the claiming transaction."""

    id: UUID
    status: str
    key_type: str
    address: tuple[str, ...]
    subject: str
    body: str
    contact_block: str | None
    created_at: datetime
    postage: str
    allow_international: bool

    @property
    def precompiled(self) -> bool:
        return self.status == status.PENDING_VIRUS_CHECK

    @property
    def test_key(self) -> bool:
        return self.key_type == "test"


def prepare_letters(notification_ids: Sequence[UUID], *, sessions: sessionmaker[Session], stores: LetterStores,
                    scanner: Scanner, clock: Clock, options: LetterOptions = LetterOptions()) -> list[PrepareResult]:
    """Render or scan-and-check each letter not yet prepared; one result per id, in order."""
    with sessions.begin() as session:
        letters = _claim(session, notification_ids, now=clock.now(), lasts=options.claim_lasts)
    results = {letter.id: _prepare_one(letter, sessions=sessions, stores=stores, scanner=scanner, clock=clock,
                                       options=options) for letter in letters}
    return [results.get(i) or PrepareResult(i, PrepareOutcome.SKIPPED) for i in notification_ids]


def _prepare_one(letter: _Letter, *, sessions: sessionmaker[Session], stores: LetterStores, scanner: Scanner,
                 clock: Clock, options: LetterOptions) -> PrepareResult:
    try:
        if letter.precompiled:
            outcome = _check_precompiled(letter, sessions=sessions, stores=stores, scanner=scanner, clock=clock,
                                         options=options)
        else:
            outcome = _render(letter, sessions=sessions, stores=stores, clock=clock, options=options)
    except (StorageError, ScannerUnavailable) as exc:
        log.warning("letter not prepared; it will be retried",
                    extra={"notification_id": str(letter.id), "error": str(exc)})
        return _retry_later(letter.id, exc, sessions=sessions, clock=clock)
    except Exception as exc:  # a database error, say: retry this letter and go on with the rest of the batch
        log.exception("letter not prepared; it will be retried", extra={"notification_id": str(letter.id)})
        return _retry_later(letter.id, exc, sessions=sessions, clock=clock)
    log.info("letter prepared", extra={"notification_id": str(letter.id), "outcome": outcome.value})
    return PrepareResult(letter.id, outcome)


def _retry_later(notification_id: UUID, error: Exception, *, sessions: sessionmaker[Session],
                 clock: Clock) -> PrepareResult:
    try:
        release_claim(sessions, notification_id, clock=clock)
    except Exception:  # the claim lapses by itself; the retry (or the hourly sweep) takes the letter then
        log.exception("could not release a letter's claim", extra={"notification_id": str(notification_id)})
    return PrepareResult(notification_id, error=error)


def _render(letter: _Letter, *, sessions: sessionmaker[Session], stores: LetterStores, clock: Clock,
            options: LetterOptions) -> PrepareOutcome:
    content = LetterContent(address_lines=letter.address, subject=letter.subject, body=letter.body,
                            contact_block=letter.contact_block, date=letter.created_at.astimezone(LONDON).date())
    try:
        rendered = render_pdf(content, fonts=options.fonts)
    except Exception:  # the same input fails the same way every time: retrying cannot help
        log.exception("letter could not be rendered", extra={"notification_id": str(letter.id)})
        return _fail(sessions, letter, status.TECHNICAL_FAILURE, "the letter could not be rendered to PDF", clock)
    key = letter_key(letter.id)
    if rendered.pages > options.max_pages and not letter.test_key:
        stores.scan.put(key, rendered.pdf)  # kept where refused PDFs are, for GET .../pdf
        return _fail(sessions, letter, status.VALIDATION_FAILED, LETTER_TOO_LONG, clock)
    stores.pdf.put(key, rendered.pdf)
    with sessions.begin() as session:
        recorded = _record_ready(session, letter.id, letter.status, now=clock.now(), billable_units=rendered.sheets)
    if not recorded:  # its status moved on meanwhile (cancelled, say): nothing to print
        return PrepareOutcome.SKIPPED
    return PrepareOutcome.TEST_KEY if letter.test_key else PrepareOutcome.READY


def _check_precompiled(letter: _Letter, *, sessions: sessionmaker[Session], stores: LetterStores, scanner: Scanner,
                       clock: Clock, options: LetterOptions) -> PrepareOutcome:
    key = letter_key(letter.id)
    pdf = stores.scan.get(key)
    if pdf is None:
        return _fail(sessions, letter, status.TECHNICAL_FAILURE, "the precompiled PDF is missing from the scan store",
                     clock)
    scan = scanner.scan(pdf)
    if scan.outcome == "infected":
        log.warning("precompiled letter failed the virus scan",
                    extra={"notification_id": str(letter.id), "signature": scan.signature})
        return _fail(sessions, letter, status.VIRUS_SCAN_FAILED, VIRUS_DETECTED, clock)
    if scan.outcome == "error":
        if scan.retryable:
            raise ScannerUnavailable(scan.detail or "clamd failed")
        return _fail(sessions, letter, status.TECHNICAL_FAILURE, f"the virus scan failed: {scan.detail}", clock)
    checked = check_precompiled(pdf, max_pages=options.max_pages)
    if isinstance(checked, RefusedLetter):
        return _fail(sessions, letter, status.VALIDATION_FAILED, checked.reason, clock)
    address = postal_address.parse_address(checked.address_lines)
    problem = postal_address.address_problem(address, allow_international=letter.allow_international)
    if problem is not None:
        return _fail(sessions, letter, status.VALIDATION_FAILED, problem.reason, clock)
    stores.pdf.put(key, pdf)
    postage = address.postage_zone if address.international else letter.postage
    with sessions.begin() as session:
        moved = apply.apply_status(session, letter.id, status.CREATED, now=clock.now(), to="\n".join(address.lines),
                            normalised_to=_normalised(address.lines), postage=postage,
                            billable_units=checked.sheets, delivery_claimed_at=None)
        if moved and letter.test_key:  # Notify marks a test-key precompiled letter delivered once it is valid
            apply.apply_status(session, letter.id, status.DELIVERED, now=clock.now())
    if not moved:
        return PrepareOutcome.SKIPPED
    try:
        stores.scan.delete(key)
    except StorageError as exc:  # the letter is ready all the same; a stray copy in the scan store harms nothing
        log.warning("checked letter left in the scan store", extra={"notification_id": str(letter.id),
                                                                    "error": str(exc)})
    return PrepareOutcome.TEST_KEY if letter.test_key else PrepareOutcome.READY


def _fail(sessions: sessionmaker[Session], letter: _Letter, new_status: str, reason: str,
          clock: Clock) -> PrepareOutcome:
    log.warning("letter refused", extra={"notification_id": str(letter.id), "status": new_status, "reason": reason})
    with sessions.begin() as session:
        moved = apply.apply_status(session, letter.id, new_status, now=clock.now(), failure_reason=reason,
                            delivery_claimed_at=None)
    if moved:
        return PrepareOutcome(new_status)
    if letter.test_key and letter.status == status.DELIVERED:
        # `delivered` is final, so it keeps its status; the reason it has no PDF is recorded instead,
        # which stops the hourly sweep re-queueing it (`_unprepared`).
        with sessions.begin() as session:
            _set_aside(session, letter.id, reason=reason)
        return PrepareOutcome.TEST_KEY_NOT_PREPARED
    release_claim(sessions, letter.id, clock=clock)  # its status moved on meanwhile (cancelled, say)
    return PrepareOutcome.SKIPPED


def _set_aside(session: Session, notification_id: UUID, *, reason: str) -> None:
    n = notifications.c
    session.execute(update(notifications).where(n.id == notification_id, n.key_type == "test")
                    .values(failure_reason=reason, delivery_claimed_at=None))


def _record_ready(session: Session, notification_id: UUID, expected_status: str, *, now: datetime,
                  billable_units: int) -> bool:
    # Not a status move: the letter stays `created` (or a test letter `delivered`), now with its sheets.
    n = notifications.c
    return bool(session.execute(update(notifications).where(n.id == notification_id, n.status == expected_status)
                                .values(billable_units=billable_units, delivery_claimed_at=None,
                                        updated_at=now)).rowcount)


def release_claim(sessions: sessionmaker[Session], notification_id: UUID, *, clock: Clock) -> None:
    """Let go of the claim on a letter whose attempt failed, so its retry can claim it."""
    n = notifications.c
    with sessions.begin() as session:
        session.execute(update(notifications).where(n.id == notification_id)
                        .values(delivery_claimed_at=None, updated_at=clock.now()))


def _unprepared(now: datetime, lasts: timedelta) -> Any:
    """The condition a letter meets while it waits to be prepared, and nobody holds it."""
    n = notifications.c
    waiting = or_(
        n.status == status.PENDING_VIRUS_CHECK,
        and_(n.status == status.CREATED, n.billable_units == 0),
        and_(n.status == status.DELIVERED, n.key_type == "test", n.billable_units == 0, n.failure_reason.is_(None)),
    )
    return and_(n.notification_type == "letter", waiting,
                or_(n.delivery_claimed_at.is_(None), n.delivery_claimed_at < now - lasts))


def _claim(session: Session, notification_ids: Sequence[UUID], *, now: datetime, lasts: timedelta) -> list[_Letter]:
    n = notifications.c
    claimed = session.execute(update(notifications).where(n.id.in_(notification_ids), _unprepared(now, lasts))
                              .values(delivery_claimed_at=now).returning(n.id)).scalars().all()
    if len(claimed) < len(notification_ids):
        log.info("not preparing letters already prepared or claimed",
                 extra={"count": len(notification_ids) - len(claimed)})
    if not claimed:
        return []
    t, s = templates.c, services.c
    rows = session.execute(
        select(n.id, n.status, n.key_type, n.to, n.subject, n.body, n.created_at, n.postage, t.letter_contact_block,
               s.permissions)
        .join(services, s.id == n.service_id)
        .outerjoin(templates, and_(t.id == n.template_id, t.version == n.template_version))
        .where(n.id.in_(claimed))
    ).all()
    return [_Letter(id=row.id, status=row.status, key_type=row.key_type, address=tuple(row.to.split("\n")),
                    subject=row.subject or "", body=row.body or "", contact_block=row.letter_contact_block,
                    created_at=row.created_at, postage=row.postage or "second",
                    allow_international=INTERNATIONAL_LETTERS in (row.permissions or ()))
            for row in rows]


def _normalised(lines: Sequence[str]) -> str:
    return "".join("".join(lines).split()).lower()


def requeue_unprepared(session: Session, *, now: datetime, older_than: timedelta, lookback: timedelta,
                       lasts: timedelta, limit: int) -> list[UUID]:
    """Letters still waiting to be prepared after `older_than` (their message was lost); returns their ids.

    Their `updated_at` is stamped, so each is re-queued at most once per `older_than`.
    """
    n = notifications.c
    cutoff = now - older_than
    ids = list(session.execute(
        select(n.id).where(_unprepared(now, lasts), n.created_at < cutoff, n.created_at >= now - lookback,
                           or_(n.updated_at.is_(None), n.updated_at < cutoff))
        .order_by(n.created_at).limit(limit)
    ).scalars())
    if ids:
        session.execute(update(notifications).where(n.id.in_(ids)).values(updated_at=now))
    return ids


def give_up_on_unchecked(session: Session, *, now: datetime, older_than: timedelta) -> int:
    """Precompiled letters still waiting for their scan after `older_than` end `technical-failure`."""
    n = notifications.c
    return session.execute(update(notifications).where(
        n.notification_type == "letter", n.status == status.PENDING_VIRUS_CHECK, n.created_at < now - older_than,
    ).values(status=status.TECHNICAL_FAILURE, updated_at=now,
             failure_reason="the precompiled letter was never scanned and checked in time")).rowcount
