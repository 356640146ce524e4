"""The one flow behind POST /v2/notifications/{sms,email,letter}: check, insert, commit, then enqueue.

Every rule lives in `clarion.delivery.intake`; this module supplies the cached service and template,
writes the row with one Core INSERT, and hands the id to the enqueue batcher after the commit
(style §3.3). Simulated recipients are answered 201 without being stored, counted or queued.
A precompiled letter's PDF is stored in the scan store before its row is written, so a worker that
reads the row always finds the file, and before the daily limit counts it, as clarion.limits has no
way to give a reservation back; a store that fails is answered 503 (StorageError).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from clarion.api.context import ApiContext
from clarion.api.v2 import serialise
from clarion.delivery import intake
from clarion.delivery.intake import (
    Accepted,
    Caller,
    EmailRequest,
    LetterRequest,
    PrecompiledLetterRequest,
    SmsRequest,
)
from clarion.letters import StorageError, letter_key

__all__ = ["send", "send_precompiled_letter"]

log = logging.getLogger(__name__)

# Every kind is queued: texts and emails to delivery, letters to be rendered or scanned (test-key
# letters too, so their PDF exists; they are never printed).
QUEUED_TYPES = frozenset({"sms", "email", "letter"})


async def send(api: ApiContext, caller: Caller, request: SmsRequest | EmailRequest | LetterRequest) -> dict[str, Any]:
    """Accept one notification and return the 201 body; raises an intake error to refuse it."""
    kind = _kind(request)
    now = api.clock.now()
    intake.check_permission(caller.service, kind)
    if api.settings.api_rate_limit_enabled:
        await intake.check_rate_limit(api.limits, caller, now=now)
    template = intake.check_template(await api.template(caller.service.id, request.template_id), kind)
    accepted = _accept(api, caller, request, template, now)
    if not accepted.simulated:
        await _reserve_daily_limits(api, caller, accepted, now)
        await _insert_and_queue(api, caller, accepted, kind)
    return serialise.post_response(accepted, root=serialise.root_url(api.settings.api_host_name))


async def send_precompiled_letter(api: ApiContext, caller: Caller, request: PrecompiledLetterRequest) -> dict[str, Any]:
    """Accept a precompiled letter and return Notify's 201 body: its id, reference and postage."""
    now = api.clock.now()
    intake.check_permission(caller.service, "letter")
    if api.settings.api_rate_limit_enabled:
        await intake.check_rate_limit(api.limits, caller, now=now)
    accepted, pdf = intake.accept_precompiled_letter(request, caller=caller, now=now)
    # Stored before the daily limit is counted: a reservation cannot be given back, so a store that is
    # down must not use up the day's letters. A refused letter's file is removed again.
    await _store_precompiled(api, accepted, pdf)
    try:
        await _reserve_daily_limits(api, caller, accepted, now)
    except intake.DailyLimitExceeded:
        await _discard_precompiled(api, accepted)
        raise
    await _insert_and_queue(api, caller, accepted, "letter")
    row = accepted.row
    return {"id": str(row["id"]), "reference": row["client_reference"], "postage": row["postage"]}


async def _store_precompiled(api: ApiContext, accepted: Accepted, pdf: bytes) -> None:
    try:
        await asyncio.to_thread(api.letters.scan.put, letter_key(accepted.id), pdf)  # boto3 and file writes block
    except StorageError as exc:
        log.warning("precompiled letter not stored", extra={"notification_id": str(accepted.id), "error": str(exc)})
        raise StorageError("The letter could not be stored just now; send it again later") from None


async def _discard_precompiled(api: ApiContext, accepted: Accepted) -> None:
    try:
        await asyncio.to_thread(api.letters.scan.delete, letter_key(accepted.id))
    except StorageError as exc:  # a stray file with no row is never read; it only takes space
        log.warning("refused precompiled letter left in the scan store",
                    extra={"notification_id": str(accepted.id), "error": str(exc)})


async def _reserve_daily_limits(api: ApiContext, caller: Caller, accepted: Accepted, now: datetime) -> None:
    if api.settings.api_rate_limit_enabled:
        await intake.reserve_daily_limits(api.limits, caller, accepted, now=now)


async def _insert_and_queue(api: ApiContext, caller: Caller, accepted: Accepted, kind: str) -> None:
    await api.writer.insert(accepted.row)  # durable first (a group commit with concurrent requests)...
    if kind in QUEUED_TYPES:
        api.batcher.add(kind, accepted.id)  # ...then queued; the sweeper re-queues a lost one
    api.metrics.accepted.labels(kind, caller.key_type).inc()


def _kind(request: SmsRequest | EmailRequest | LetterRequest) -> str:
    if isinstance(request, SmsRequest):
        return "sms"
    if isinstance(request, EmailRequest):
        return "email"
    return "letter"


def _accept(api: ApiContext, caller: Caller, request: SmsRequest | EmailRequest | LetterRequest,
            template: intake.TemplateInfo, now: Any) -> Accepted:
    if isinstance(request, SmsRequest):
        return intake.accept_sms(request, caller=caller, template=template, default_sender=api.settings.from_number,
                                 now=now)
    if isinstance(request, EmailRequest):
        return intake.accept_email(request, caller=caller, template=template,
                                   email_domain=api.settings.notify_email_domain, now=now)
    return intake.accept_letter(request, caller=caller, template=template, now=now)
