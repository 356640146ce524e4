"""Apply a batch of provider receipts to the notifications they report on, in a handful of statements.

One SELECT finds the text messages (by id), one the emails (by SES reference); the new statuses are
decided in memory by `clarion.delivery.status` (the one status table, so duplicates, out-of-order
receipts and final statuses are refused exactly as `delivery.apply.apply_status` refuses them); then
one compare-and-set UPDATE per (status now, new status, reason, provider) group writes them, and one
INSERT records SES complaints. A row another writer moved in between misses its compare-and-set and
is decided again from a fresh read, so concurrent batches never overwrite each other.

Rules from reference/notify-brief.md §5.2-5.3:
- Firetext refinement: a permanent-failure with a known detailed code takes the code's status and
  reason; otherwise a permanent-failure arriving on a `pending` notification is a temporary-failure.
- `sent_by` is set to the provider when it is empty; `failure_reason` to the provider's text.
- A receipt for an unknown notification is logged (ids only, never a recipient) and dropped, except
  an SES one whose email SES accepted less than `ses_retry_window` ago: the reference may not be
  committed yet, so it is handed back in `BatchResult.retry_later`.
- A complaint is recorded in `complaints` (once per SES feedback id) and never changes the status.
The caller owns the transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from clarion.db.models import Complaint, Notification
from clarion.delivery import status
from clarion.receipts import maps
from clarion.receipts.parse import COMPLAINT, Receipt

__all__ = ["BatchResult", "apply_receipts"]

log = logging.getLogger(__name__)
notifications = Notification.__table__
complaints = Complaint.__table__
MAX_ROUNDS = 3  # compare-and-set rounds; a row moved by others three times running is left to them


@dataclass
class BatchResult:
    """What a batch did: rows moved, receipts refused or dropped, complaints recorded, receipts to retry."""

    moved: int = 0
    refused: int = 0  # duplicate, out of order, or the notification's status is final
    unknown: int = 0  # no such notification: dropped
    complaints: int = 0
    retry_later: list[Receipt] = field(default_factory=list)


class _Row(NamedTuple):
    id: uuid.UUID
    status: str
    service_id: uuid.UUID


class _Plan(NamedTuple):
    expected: str  # the status read; the UPDATE moves the row only if it still has it
    new: str
    reason: str | None
    provider: str


def apply_receipts(session: Session, receipts: Sequence[Receipt], *, now: datetime,
                   ses_retry_window: timedelta) -> BatchResult:
    """Apply the receipts in order; see the module docstring for the rules."""
    result = BatchResult()
    targets: list[tuple[_Row, Receipt]] = []
    found_complaints: list[tuple[_Row, Receipt]] = []
    by_id = _sms_rows(session, {uuid.UUID(r.reference) for r in receipts if r.channel == "sms"})
    by_reference = _email_rows(session, {r.reference for r in receipts if r.channel == "email"})
    for receipt in receipts:
        rows = _rows_for(receipt, by_id, by_reference)
        if not rows:
            _not_found(receipt, now=now, window=ses_retry_window, result=result)
            continue
        for row in rows:
            (found_complaints if receipt.event == COMPLAINT else targets).append((row, receipt))
    if found_complaints:
        result.complaints = _record_complaints(session, found_complaints, now=now)
    _move(session, targets, now=now, result=result)
    if receipts:
        log.info("applied receipts", extra={"count": len(receipts), "moved": result.moved, "refused": result.refused,
                                            "unknown": result.unknown, "complaints": result.complaints,
                                            "retry_later": len(result.retry_later)})
    return result


def _sms_rows(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, _Row]:
    if not ids:
        return {}
    n = notifications.c
    query = select(n.id, n.status, n.service_id).where(n.id.in_(ids), n.notification_type == "sms")
    return {row.id: _Row(*row) for row in session.execute(query)}


def _email_rows(session: Session, references: set[str]) -> dict[str, list[_Row]]:
    if not references:
        return {}
    n = notifications.c
    query = select(n.id, n.status, n.service_id, n.reference).where(n.reference.in_(references),
                                                                    n.notification_type == "email")
    rows: dict[str, list[_Row]] = defaultdict(list)
    for row in session.execute(query):
        rows[row.reference].append(_Row(row.id, row.status, row.service_id))
    return rows


def _rows_for(receipt: Receipt, by_id: dict[uuid.UUID, _Row], by_reference: dict[str, list[_Row]]) -> list[_Row]:
    if receipt.channel == "email":
        return by_reference.get(receipt.reference, [])
    row = by_id.get(uuid.UUID(receipt.reference))
    return [row] if row else []


def _not_found(receipt: Receipt, *, now: datetime, window: timedelta, result: BatchResult) -> None:
    fields = {"reference": receipt.reference, "provider_name": receipt.provider, "new_status": receipt.status,
              "event": receipt.event}
    if receipt.mail_time is not None and now - receipt.mail_time < window:
        result.retry_later.append(receipt)  # the send may not have committed the SES reference yet
        log.info("receipt for an unknown reference: will retry", extra=fields)
        return
    result.unknown += 1
    log.warning("receipt for an unknown notification dropped", extra=fields)


def _outcome(receipt: Receipt, current: str) -> maps.Outcome:
    """The status and reason this receipt asks for, given the notification's status now."""
    assert receipt.status is not None
    if receipt.provider == "firetext" and receipt.status == status.PERMANENT_FAILURE:
        refined = maps.firetext_code(receipt.code)
        if refined is not None:
            return refined
        if receipt.code:
            log.warning("Firetext failure code not recognised", extra={"code": receipt.code[:16],
                                                                        "notification_id": receipt.reference})
        if current == status.PENDING:  # Firetext said pending first: the number exists, so worth another try
            return maps.Outcome(status.TEMPORARY_FAILURE, receipt.reason)
    return maps.Outcome(receipt.status, receipt.reason)


def _move(session: Session, targets: list[tuple[_Row, Receipt]], *, now: datetime, result: BatchResult) -> None:
    current = {row.id: row.status for row, _ in targets}
    for _ in range(MAX_ROUNDS):
        plans, refused = _plan(targets, current)
        lost = _write(session, plans, now=now)
        result.moved += len(plans) - len(lost)
        result.refused += sum(count for notification_id, count in refused.items() if notification_id not in lost)
        if not lost:
            return
        current = _statuses(session, lost)  # someone else moved them: decide again from what they left
        targets = [(row, receipt) for row, receipt in targets if row.id in current]
    log.warning("receipts not applied: the notifications kept changing", extra={"count": len(targets)})


def _plan(targets: Iterable[tuple[_Row, Receipt]],
          current: dict[uuid.UUID, str]) -> tuple[dict[uuid.UUID, _Plan], Counter[uuid.UUID]]:
    """One write per notification: receipts are taken in order, each checked against the status before it."""
    state = dict(current)
    plans: dict[uuid.UUID, _Plan] = {}
    refused: Counter[uuid.UUID] = Counter()
    for row, receipt in targets:
        before = state[row.id]
        outcome = _outcome(receipt, before)
        if not status.can_move(before, outcome.status):
            refused[row.id] += 1
            log.info("duplicate or out-of-order receipt ignored", extra={
                "notification_id": str(row.id), "status": before, "new_status": outcome.status,
                "provider_name": receipt.provider})
            continue
        state[row.id] = outcome.status
        plans[row.id] = _Plan(current[row.id], outcome.status, outcome.reason, receipt.provider)
    return plans, refused


def _write(session: Session, plans: dict[uuid.UUID, _Plan], *, now: datetime) -> set[uuid.UUID]:
    """Compare-and-set every plan, one UPDATE per group; returns the ids whose status had moved on."""
    groups: dict[_Plan, list[uuid.UUID]] = defaultdict(list)
    for notification_id, plan in plans.items():
        groups[plan].append(notification_id)
    n = notifications.c
    lost: set[uuid.UUID] = set()
    for plan, ids in groups.items():
        values: dict[str, Any] = {"status": plan.new, "updated_at": now,
                                  "sent_by": func.coalesce(n.sent_by, plan.provider)}
        if plan.reason is not None:
            values["failure_reason"] = plan.reason
        moved = set(session.execute(update(notifications).where(n.id.in_(ids), n.status == plan.expected)
                                    .values(**values).returning(n.id)).scalars())
        lost.update(set(ids) - moved)
    return lost


def _statuses(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    n = notifications.c
    return {row.id: row.status for row in session.execute(select(n.id, n.status).where(n.id.in_(ids)))}


def _record_complaints(session: Session, found: list[tuple[_Row, Receipt]], *, now: datetime) -> int:
    """Insert one row per complaint; a feedback id seen before (a redelivered message) is skipped."""
    rows: dict[Any, dict[str, Any]] = {}
    for row, receipt in found:
        key = receipt.feedback_id or uuid.uuid4()  # without a feedback id there is nothing to deduplicate on
        rows[key] = {"id": uuid.uuid4(), "notification_id": row.id, "service_id": row.service_id,
                     "ses_feedback_id": receipt.feedback_id, "complaint_type": receipt.complaint_type,
                     "complaint_date": receipt.complaint_time, "created_at": now}
        log.info("email complaint received", extra={"notification_id": str(row.id),
                                                    "complaint_type": receipt.complaint_type})
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(complaints).values(list(rows.values()))
                 .on_conflict_do_nothing(index_elements=["ses_feedback_id"]).returning(complaints.c.id))
    return len(session.execute(statement).all())
