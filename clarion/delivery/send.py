"""Hand `created` text messages and emails to providers: claim and read, let go, call, then write.

A queue message carries a batch of ids. No database connection is held while providers think: the
batch is claimed and read in one short transaction, every provider call is started on the worker's
event loop at once, and hand-offs are recorded as they finish, never overwriting a status that moved
on meanwhile (a fast receipt wins).

Test-key notifications never reach a provider; their simulated outcome is applied at once
(reference/notify-brief.md §6.3). Retryable failures come back to the caller to retry; a permanent
one ends in `technical-failure` here.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Collection, Coroutine, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import bindparam, case, func, literal_column, null, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from clarion import templates
from clarion.clock import Clock
from clarion.db.models import Notification, Service
from clarion.delivery import apply, status
from clarion.providers.base import EmailClient, EmailMessage, SmsClient, SmsMessage
from clarion.providers.errors import PermanentProviderError
from clarion.providers.registry import NotificationProviderClients
from clarion.routing import ProviderCache, Router

__all__ = [
    "AttemptResult",
    "ChooseProvider",
    "DeliveryJob",
    "DeliveryOptions",
    "DeliveryOutcome",
    "HandOff",
    "HandOffNotRecorded",
    "deliver",
    "deliver_batch",
    "mark_technical_failure",
    "simulated_outcome",
]

logger = logging.getLogger(__name__)
notifications = Notification.__table__
services = Service.__table__

SMS_TEMPORARY_FAILURE_SUFFIX = "7700900003"
SMS_PERMANENT_FAILURE_SUFFIX = "7700900002"
EMAIL_TEMPORARY_FAILURE = "temp-fail@simulator.notify"
EMAIL_PERMANENT_FAILURE = "perm-fail@simulator.notify"


class ChooseProvider(Protocol):
    """The routing policy (`routing.Router.choose`): which provider gets this attempt."""

    def __call__(self, notification_type: str, *, international: bool = False, avoid: Collection[str] = ()) -> str: ...


class DeliveryOutcome(StrEnum):
    """What one delivery attempt did."""

    SKIPPED = "skipped"  # not `created` (already handled, cancelled, or gone)
    SIMULATED = "simulated"  # test key: the simulated outcome was applied
    HANDED_OFF = "handed-off"  # a provider accepted it
    TECHNICAL_FAILURE = "technical-failure"  # the provider refused it for good, or the service is inactive


@dataclass(frozen=True)
class DeliveryOptions:
    """The settings the delivery flow needs (from Settings at the edge)."""

    email_domain: str = "notifications.clarion.local"  # Settings.notify_email_domain
    sms_sender: str = "CLARION"  # Settings.from_number, when a notification names no sender
    claim_lasts: timedelta = timedelta(minutes=5)  # Settings.delivery_claim_s


@dataclass(frozen=True)
class DeliveryJob:
    """What a provider needs about one notification, read in a short transaction."""

    notification_id: UUID
    notification_type: str
    key_type: str
    to: str
    body: str
    subject: str | None
    reply_to_text: str | None
    international: bool
    one_click_unsubscribe_url: str | None
    service_name: str
    service_active: bool
    email_sender_local_part: str


def load_jobs(session: Session, notification_ids: Sequence[UUID]) -> list[DeliveryJob]:
    """The delivery jobs of these notifications, read in one statement."""
    n, s = notifications.c, services.c
    rows = session.execute(
        select(n.id, n.notification_type, n.key_type, n.normalised_to, n.body, n.subject, n.reply_to_text,
               n.international, n.one_click_unsubscribe_url, s.name, s.active, s.email_sender_local_part)
        .join(services, s.id == n.service_id)
        .where(n.id.in_(notification_ids))
    ).all()
    return [DeliveryJob(
        notification_id=row.id, notification_type=row.notification_type, key_type=row.key_type,
        to=row.normalised_to, body=row.body, subject=row.subject, reply_to_text=row.reply_to_text,
        international=row.international, one_click_unsubscribe_url=row.one_click_unsubscribe_url,
        service_name=row.name, service_active=row.active, email_sender_local_part=row.email_sender_local_part,
    ) for row in rows]


def simulated_outcome(notification_type: str, to: str) -> str:
    """The status a test-key notification to this recipient ends in (Notify's research mode)."""
    if notification_type == "sms":
        if to.endswith(SMS_TEMPORARY_FAILURE_SUFFIX):
            return status.TEMPORARY_FAILURE
        if to.endswith(SMS_PERMANENT_FAILURE_SUFFIX):
            return status.PERMANENT_FAILURE
        return status.DELIVERED
    address = to.strip().lower()
    if address == EMAIL_TEMPORARY_FAILURE:
        return status.TEMPORARY_FAILURE
    if address == EMAIL_PERMANENT_FAILURE:
        return status.PERMANENT_FAILURE
    return status.DELIVERED


Run = Callable[[Coroutine[Any, Any, Any]], Future[Any]]  # runs a coroutine on the provider event loop


def run_here(coroutine: Coroutine[Any, Any, Any]) -> Future[Any]:
    """Run a provider call to completion on a fresh event loop in this thread (one-off callers, tests)."""
    future: Future[Any] = Future()
    try:
        future.set_result(asyncio.run(coroutine))
    except Exception as exc:
        future.set_exception(exc)
    return future


@dataclass(frozen=True)
class AttemptResult:
    """What one delivery attempt did for one notification: an outcome, or the error to retry on."""

    notification_id: UUID
    outcome: DeliveryOutcome | None = None
    error: Exception | None = None
    provider: str | None = None  # who was tried, for fault accounting


@dataclass(frozen=True)
class HandOff:
    """A provider accepted a notification: what to record about it."""

    notification_id: UUID
    status: str  # `sending`, or `sent` when no receipt will follow
    provider: str | None  # None for a test key's simulated hand-off
    reference: str | None  # the provider's id for it (SES), if any
    sent_at: datetime

    def to_message(self) -> dict[str, Any]:
        """JSON for a queue message (`HandOffNotRecorded`: record it later, never send again)."""
        return {"id": str(self.notification_id), "status": self.status, "provider": self.provider,
                "reference": self.reference, "sent_at": self.sent_at.isoformat()}

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> HandOff:
        return cls(UUID(message["id"]), message["status"], message["provider"], message["reference"],
                   datetime.fromisoformat(message["sent_at"]))


def deliver(notification_id: UUID, *, sessions: sessionmaker[Session], clients: NotificationProviderClients,
            clock: Clock, choose: ChooseProvider | None = None, options: DeliveryOptions = DeliveryOptions(),
            run: Run = run_here) -> DeliveryOutcome:
    """Deliver one notification (see `deliver_batch`); a retryable error is raised instead of returned."""
    [result] = deliver_batch([notification_id], sessions=sessions, clients=clients, clock=clock, choose=choose,
                             options=options, run=run)
    if result.error is not None:
        raise result.error
    assert result.outcome is not None
    return result.outcome


def deliver_batch(notification_ids: Sequence[UUID], *, sessions: sessionmaker[Session],
                  clients: NotificationProviderClients, clock: Clock, choose: ChooseProvider | None = None,
                  options: DeliveryOptions = DeliveryOptions(), run: Run = run_here,
                  avoid: Collection[str] = ()) -> list[AttemptResult]:
    """Take a batch of `created` notifications to their providers, all calls in flight at once.

    1. One short transaction claims every id still `created` and unclaimed and reads their jobs;
       `choose` then picks a provider for each, another than `avoid` where it can (a failover
       retry). A second copy of a queue message (a sweeper's, or a broker's redelivery) finds the
       claims and sends nothing. Without `choose`, the database's current weights are used.
    2. With no connection held, every provider call is started on the event loop (`run`).
    3. As calls finish, the hand-offs that finished together are recorded in one transaction, so
       a slow provider call never delays recording the others. Every call started is waited for
       and accounted for, whatever else fails.
    A failed attempt comes back as an `AttemptResult` with its error, for the caller to retry;
    it must then `note_failed_attempt` to let go of the claim. A worker that dies mid-call leaves
    claims that lapse after `options.claim_lasts`.
    """
    results: dict[UUID, AttemptResult] = {}
    planned: list[tuple[DeliveryJob, str | None]] = []
    with sessions.begin() as session:
        jobs = claim_jobs(session, notification_ids, now=clock.now(), lasts=options.claim_lasts)
    # The session is closed here: no connection is held while providers think.
    choose = choose or Router(ProviderCache(sessions, clock, ttl_s=0), configured=clients.configured()).choose
    for job in jobs:
        if not job.service_active or job.key_type == "test":
            planned.append((job, None))
            continue
        try:
            planned.append((job, choose(job.notification_type, international=job.international, avoid=avoid)))
        except Exception as exc:
            results[job.notification_id] = AttemptResult(job.notification_id, error=exc)
    calls: dict[Future[Any], tuple[DeliveryJob, str]] = {}
    try:
        for job, provider in planned:
            if provider is None:
                results[job.notification_id] = _without_provider(job, sessions=sessions, clock=clock)
            else:
                calls[run(_call_provider(job, provider, clients=clients, options=options))] = (job, provider)
    finally:
        results.update(_finish_calls(calls, sessions=sessions, clock=clock))
    return [results.get(i) or AttemptResult(i, DeliveryOutcome.SKIPPED) for i in notification_ids]


def _without_provider(job: DeliveryJob, *, sessions: sessionmaker[Session], clock: Clock) -> AttemptResult:
    """An inactive service's notification fails; a test key's gets its simulated outcome."""
    try:
        if not job.service_active:
            mark_technical_failure(job.notification_id, sessions=sessions, clock=clock, reason="service is inactive")
            return AttemptResult(job.notification_id, DeliveryOutcome.TECHNICAL_FAILURE)
        return _simulate(job, sessions=sessions, clock=clock)
    except Exception as exc:  # the database failed: nothing was sent, so it is simply retried
        return AttemptResult(job.notification_id, error=exc)


def _finish_calls(calls: dict[Future[Any], tuple[DeliveryJob, str]], *, sessions: sessionmaker[Session],
                  clock: Clock) -> dict[UUID, AttemptResult]:
    """Wait for every call, recording hand-offs as they finish; each database failure stays with its row."""
    results: dict[UUID, AttemptResult] = {}
    while calls:
        done, _ = wait(calls, return_when=FIRST_COMPLETED)
        hand_offs = []
        for future in done:
            job, provider = calls.pop(future)
            error = future.exception()
            if error is None:
                reference, receipts_follow = future.result()
                hand_offs.append(HandOff(job.notification_id, handed_off_status(job, receipts_follow=receipts_follow),
                                         provider, reference, clock.now()))
            elif isinstance(error, PermanentProviderError):
                results[job.notification_id] = _refused(job, provider, error, sessions=sessions, clock=clock)
            else:
                results[job.notification_id] = AttemptResult(job.notification_id, error=error, provider=provider)
        if hand_offs:
            results.update(_record(hand_offs, sessions=sessions))
    return results


def _refused(job: DeliveryJob, provider: str, error: PermanentProviderError, *, sessions: sessionmaker[Session],
             clock: Clock) -> AttemptResult:
    try:
        mark_technical_failure(job.notification_id, sessions=sessions, clock=clock, reason=str(error))
    except Exception as exc:  # retried: the provider will refuse it again, and then it is recorded
        return AttemptResult(job.notification_id, error=exc, provider=provider)
    return AttemptResult(job.notification_id, DeliveryOutcome.TECHNICAL_FAILURE, provider=provider)


def _record(hand_offs: list[HandOff], *, sessions: sessionmaker[Session]) -> dict[UUID, AttemptResult]:
    try:
        with sessions.begin() as session:
            record_hand_offs(session, hand_offs)
    except Exception:
        # The providers have them: sending again would send them twice. Each comes back as
        # HandOffNotRecorded, which the caller records later through the queue; the claims stop
        # anything resending them meanwhile.
        logger.exception("providers accepted notifications the database did not record",
                         extra={"count": len(hand_offs)})
        return {h.notification_id: AttemptResult(h.notification_id, error=HandOffNotRecorded(h),
                                                 provider=h.provider) for h in hand_offs}
    return {h.notification_id: AttemptResult(h.notification_id, DeliveryOutcome.HANDED_OFF, provider=h.provider)
            for h in hand_offs}


class HandOffNotRecorded(Exception):
    """A provider accepted the notification but the database did not record it; record it, never resend."""

    def __init__(self, hand_off: HandOff) -> None:
        super().__init__(f"{hand_off.provider or 'simulated'} accepted notification {hand_off.notification_id} "
                         f"but the hand-off was not recorded")
        self.hand_off = hand_off


def claim_jobs(session: Session, notification_ids: Sequence[UUID], *, now: datetime,
               lasts: timedelta) -> list[DeliveryJob]:
    """Claim the notifications still `created` and unclaimed (or whose claim lapsed); their jobs."""
    n = notifications.c
    claimed = session.execute(update(notifications).where(
        n.id.in_(notification_ids), n.status == status.CREATED,
        or_(n.delivery_claimed_at.is_(None), n.delivery_claimed_at < now - lasts),
    ).values(delivery_claimed_at=now).returning(n.id)).scalars().all()
    if len(claimed) < len(notification_ids):
        logger.info("not delivering notifications already handled or claimed",
                    extra={"count": len(notification_ids) - len(claimed)})
    return load_jobs(session, claimed) if claimed else []


def claim(session: Session, notification_id: UUID, *, now: datetime, lasts: timedelta) -> bool:
    """Claim one `created` notification for this worker; False if it moved on or another worker holds it."""
    return bool(claim_jobs(session, [notification_id], now=now, lasts=lasts))


async def _call_provider(job: DeliveryJob, provider: str, *, clients: NotificationProviderClients,
                         options: DeliveryOptions) -> tuple[str | None, bool]:
    """The provider's reference for the message, and whether receipts will follow."""
    client = clients.get_client_by_name_and_type(provider, job.notification_type)
    if isinstance(client, SmsClient):
        await client.send_sms(sms_message(job, options))
        return None, client.has_delivery_receipts
    if isinstance(client, EmailClient):
        return await client.send_email(email_message(job, options)), client.has_delivery_receipts
    raise TypeError(f"{provider} is not an SMS or email client")


def sms_message(job: DeliveryJob, options: DeliveryOptions) -> SmsMessage:
    """The text message a provider is given for this job."""
    return SmsMessage(to=job.to, content=job.body, reference=str(job.notification_id),
                      international=job.international, sender=job.reply_to_text or options.sms_sender)


def email_message(job: DeliveryJob, options: DeliveryOptions) -> EmailMessage:
    """The email a provider is given for this job, with Notify's one-click unsubscribe headers."""
    headers = []
    if job.one_click_unsubscribe_url:
        headers = [{"Name": "List-Unsubscribe", "Value": f"<{job.one_click_unsubscribe_url}>"},
                   {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"}]
    sender = f'"{job.service_name}" <{job.email_sender_local_part}@{options.email_domain}>'
    return EmailMessage(from_address=sender, to_address=job.to, subject=job.subject or "",
                        body=templates.email_plain_text(job.body), html_body=templates.html_for_body(job.body),
                        reply_to_address=job.reply_to_text,
                        headers=headers, reference=str(job.notification_id))


def record_hand_offs(session: Session, hand_offs: Sequence[HandOff]) -> None:
    """Record hand-offs (sent_at, sent_by, reference) and move each status on if the table allows.

    A fast receipt may already have moved a status on; then the hand-off is recorded and the
    receipt's status kept. One executemany per new status, compare-and-set inside a CASE, as
    `apply.apply_status` does for one row.
    """
    n = notifications.c
    by_status: dict[str, list[dict[str, object]]] = {}
    for hand_off in hand_offs:
        by_status.setdefault(hand_off.status, []).append(
            {"b_id": hand_off.notification_id, "b_provider": hand_off.provider, "b_reference": hand_off.reference,
             "b_sent_at": hand_off.sent_at})
    for new_status, rows in by_status.items():
        # Status names inline, not as an expanding IN parameter, which executemany cannot take.
        moves = n.status.in_([literal_column(f"'{name}'") for name in sorted(status.previous_statuses(new_status))])
        session.connection().execute(update(notifications).where(n.id == bindparam("b_id")).values(
            status=case((moves, new_status), else_=n.status), sent_at=bindparam("b_sent_at"),
            sent_by=bindparam("b_provider"), updated_at=bindparam("b_sent_at"), delivery_claimed_at=null(),
            reference=func.coalesce(bindparam("b_reference"), n.reference),
        ), rows)


def handed_off_status(job: DeliveryJob, *, receipts_follow: bool = True) -> str:
    """`sent` when no receipt will follow (an international text, an SMTP relay), otherwise `sending`."""
    if not receipts_follow or (job.notification_type == "sms" and job.international):
        return status.SENT
    return status.SENDING


def _simulate(job: DeliveryJob, *, sessions: sessionmaker[Session], clock: Clock) -> AttemptResult:
    reference = str(uuid.uuid4()) if job.notification_type == "email" else None
    now = clock.now()
    with sessions.begin() as session:
        record_hand_offs(session, [HandOff(job.notification_id, status.SENDING, None, reference, now)])
        apply.apply_status(session, job.notification_id, simulated_outcome(job.notification_type, job.to),
                           now=now)
    return AttemptResult(job.notification_id, DeliveryOutcome.SIMULATED)


def mark_technical_failure(notification_id: UUID, *, sessions: sessionmaker[Session], clock: Clock,
                           reason: str | None = None) -> bool:
    """Give up on a notification: `technical-failure`, unless its status already moved on."""
    logger.warning("notification technical failure", extra={"notification_id": str(notification_id),
                                                             "reason": reason})
    with sessions.begin() as session:
        return apply.apply_status(session, notification_id, status.TECHNICAL_FAILURE, now=clock.now(),
                                  failure_reason=reason)


def note_failed_attempt(notification_id: UUID, *, sessions: sessionmaker[Session], clock: Clock) -> None:
    """Let go of the claim on a notification whose attempt failed, and stamp `updated_at`.

    Its retry can then claim it. The re-queue sweeper skips notifications touched within its age,
    so a notification working through its retries is not handed a second, parallel retry chain.
    """
    table = Notification.__table__
    with sessions.begin() as session:
        session.execute(update(table).where(table.c.id == notification_id, table.c.status == status.CREATED)
                        .values(updated_at=clock.now(), delivery_claimed_at=None))
