"""Hand one `created` text message or email to a provider: read, let go, call, then write.

No database connection is held while a provider thinks: the job is read in one short transaction,
the session is closed, the provider is called, and the result is written in a second short
transaction that never overwrites a status that moved on meanwhile (a fast receipt wins).

Test-key notifications never reach a provider; their simulated outcome is applied at once
(reference/notify-brief.md §6.3). Retryable failures propagate for the queue to retry; a permanent
one ends in `technical-failure` here.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from clarion import templates
from clarion.clock import Clock
from clarion.db.models import Notification, Service
from clarion.delivery import apply, status
from clarion.providers.base import EmailClient, EmailMessage, SmsClient, SmsMessage
from clarion.providers.errors import PermanentProviderError
from clarion.providers.registry import NotificationProviderClients
from clarion.routing import select as routing

__all__ = [
    "ChooseProvider",
    "DeliveryJob",
    "DeliveryOptions",
    "DeliveryOutcome",
    "deliver",
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
    """The routing policy: which provider gets a notification of this channel."""

    def __call__(self, session: Session, notification_type: str, *, international: bool) -> str: ...


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


def load_job(session: Session, notification_id: UUID) -> DeliveryJob | None:
    """The notification's delivery job, or None unless its status is `created`."""
    n, s = notifications.c, services.c
    row = session.execute(
        select(n.id, n.notification_type, n.key_type, n.normalised_to, n.body, n.subject, n.reply_to_text,
               n.international, n.one_click_unsubscribe_url, n.status, s.name, s.active,
               s.email_sender_local_part)
        .join(services, s.id == n.service_id)
        .where(n.id == notification_id)
    ).one_or_none()
    if row is None or row.status != status.CREATED:
        logger.info("not delivering notification", extra={
            "notification_id": str(notification_id), "status": row.status if row else None})
        return None
    return DeliveryJob(
        notification_id=row.id, notification_type=row.notification_type, key_type=row.key_type,
        to=row.normalised_to, body=row.body, subject=row.subject, reply_to_text=row.reply_to_text,
        international=row.international, one_click_unsubscribe_url=row.one_click_unsubscribe_url,
        service_name=row.name, service_active=row.active, email_sender_local_part=row.email_sender_local_part,
    )


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


def deliver(notification_id: UUID, *, sessions: sessionmaker[Session], clients: NotificationProviderClients,
            clock: Clock, choose: ChooseProvider = routing.choose_provider,
            options: DeliveryOptions = DeliveryOptions()) -> DeliveryOutcome:
    """Take one `created` notification to a provider (or its simulated outcome); retryable errors propagate.

    The notification is claimed first, in the same short transaction that reads it: a second copy
    of its queue message (a sweeper's, or a broker's redelivery) finds the claim and sends nothing.
    A failed attempt lets go of the claim (`note_failed_attempt`) so its retry can take it; a
    worker that dies mid-call leaves a claim that lapses after `options.claim_lasts`.
    """
    with sessions.begin() as session:
        job = load_job(session, notification_id) if claim(session, notification_id, now=clock.now(),
                                                          lasts=options.claim_lasts) else None
        provider = None
        if job is not None and job.service_active and job.key_type != "test":
            provider = choose(session, job.notification_type, international=job.international)
    # The session is closed here: no connection is held while a provider thinks.
    if job is None:
        return DeliveryOutcome.SKIPPED
    if not job.service_active:
        mark_technical_failure(notification_id, sessions=sessions, clock=clock, reason="service is inactive")
        return DeliveryOutcome.TECHNICAL_FAILURE
    if provider is None:
        return _simulate(job, sessions=sessions, clock=clock)
    try:
        reference = _call_provider(job, provider, clients=clients, options=options)
    except PermanentProviderError as exc:
        mark_technical_failure(notification_id, sessions=sessions, clock=clock, reason=str(exc))
        return DeliveryOutcome.TECHNICAL_FAILURE
    handed_off = status.SENT if job.notification_type == "sms" and job.international else status.SENDING
    try:
        with sessions.begin() as session:
            mark_handed_off(session, notification_id, new_status=handed_off, provider=provider,
                            reference=reference, now=clock.now())
    except Exception as exc:
        # The provider has it: retrying the send would send it twice. The claim stays, so nothing
        # resends it while the claim lasts; the error is loud because the row still says `created`.
        raise HandOffNotRecorded(notification_id, provider) from exc
    return DeliveryOutcome.HANDED_OFF


class HandOffNotRecorded(Exception):
    """A provider accepted the notification but the database did not record it; never retry the send."""

    def __init__(self, notification_id: UUID, provider: str) -> None:
        super().__init__(f"{provider} accepted notification {notification_id} but the hand-off was not recorded")
        self.notification_id, self.provider = notification_id, provider


def claim(session: Session, notification_id: UUID, *, now: datetime, lasts: timedelta) -> bool:
    """Claim a `created` notification for this worker; False if it moved on or another worker holds it."""
    n = notifications.c
    return bool(session.execute(update(notifications).where(
        n.id == notification_id, n.status == status.CREATED,
        or_(n.delivery_claimed_at.is_(None), n.delivery_claimed_at < now - lasts),
    ).values(delivery_claimed_at=now)).rowcount)


def _call_provider(job: DeliveryJob, provider: str, *, clients: NotificationProviderClients,
                   options: DeliveryOptions) -> str | None:
    client = clients.get_client_by_name_and_type(provider, job.notification_type)
    if isinstance(client, SmsClient):
        client.send_sms(sms_message(job, options))
        return None
    if isinstance(client, EmailClient):
        return client.send_email(email_message(job, options))
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


def mark_handed_off(session: Session, notification_id: UUID, *, new_status: str, provider: str | None,
                    reference: str | None, now: datetime) -> None:
    """Record the hand-off (sent_at, sent_by, reference); move the status only if the table allows.

    A fast receipt may already have moved the status on; then the hand-off is recorded and the
    receipt's status kept. The status moves by compare-and-set, as in `apply.apply_status`.
    """
    values: dict[str, object] = {"sent_at": now, "sent_by": provider, "updated_at": now,
                                 "delivery_claimed_at": None}
    if reference is not None:
        values["reference"] = reference
    n = notifications.c
    moved = session.execute(update(notifications).where(
        n.id == notification_id, n.status.in_(sorted(status.previous_statuses(new_status)))
    ).values(status=new_status, **values)).rowcount
    if not moved:
        session.execute(update(notifications).where(n.id == notification_id).values(**values))
        logger.info("kept a status that moved on during hand-off",
                    extra={"notification_id": str(notification_id), "new_status": new_status})


def _simulate(job: DeliveryJob, *, sessions: sessionmaker[Session], clock: Clock) -> DeliveryOutcome:
    reference = str(uuid.uuid4()) if job.notification_type == "email" else None
    now = clock.now()
    with sessions.begin() as session:
        mark_handed_off(session, job.notification_id, new_status=status.SENDING, provider=None,
                        reference=reference, now=now)
        apply.apply_status(session, job.notification_id, simulated_outcome(job.notification_type, job.to),
                           now=now)
    return DeliveryOutcome.SIMULATED


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
