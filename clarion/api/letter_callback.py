"""`POST /notifications/letter/status?token=…`: DVLA tells us a letter was despatched or rejected.

The token in the query string is the one the DVLA client signed into the print job's callback URL,
so it proves the caller learnt it from us; without a valid one the answer is 403 and nothing is
read. A token for one letter with a body about another is refused (400), as is a body DVLA would
not send (400, every problem listed). `DESPATCHED` moves the letter to `delivered`, `REJECTED` to
`technical-failure`, through the status table's compare-and-set (clarion.delivery.apply), so a
repeated or late callback changes nothing and is still answered 204, which stops DVLA retrying.
"""

from __future__ import annotations

import logging
import uuid

import orjson
from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from clarion.api.errors import error_response
from clarion.clock import Clock
from clarion.config import Settings
from clarion.db.models import Notification
from clarion.delivery.apply import apply_status
from clarion.providers.letter.callback_token import CALLBACK_PATH, InvalidCallbackToken, LetterCallbackTokens
from clarion.providers.letter.status_callback import InvalidLetterCallback, LetterStatusUpdate, read_status_callback

__all__ = ["router"]

log = logging.getLogger(__name__)
router = APIRouter()
notifications = Notification.__table__

INVALID_TOKEN = "A valid token must be provided in the query string"
TOKEN_MISMATCH = "Notification ID in letter callback data does not match ID in token"


@router.post(CALLBACK_PATH, include_in_schema=False)
async def receive_letter_status(request: Request) -> Response:
    """Apply DVLA's despatch or rejection of one letter; 204 once it is recorded or already was."""
    settings: Settings = request.app.state.settings
    try:
        notification_id = LetterCallbackTokens(settings.secret_key.get_secret_value()).decode(
            request.query_params.get("token"))
    except InvalidCallbackToken as exc:
        log.warning("letter callback refused: invalid token", extra={"reason": str(exc)})
        return error_response(403, "InvalidRequest", [INVALID_TOKEN])
    try:
        update = read_status_callback(orjson.loads(await request.body()))
    except orjson.JSONDecodeError:
        return error_response(400, "ValidationError", ["the body must be JSON"])
    except InvalidLetterCallback as exc:
        log.warning("letter callback refused: invalid body",
                    extra={"notification_id": str(notification_id), "problems": exc.messages})
        return error_response(400, "ValidationError", exc.messages)
    if update.job_id != notification_id:
        log.error("letter callback refused: token and jobId differ",
                  extra={"notification_id": str(notification_id), "job_id": str(update.job_id)})
        return error_response(400, "InvalidRequest", [TOKEN_MISMATCH])
    clock: Clock = request.app.state.clock
    await run_in_threadpool(record_letter_status, request.app.state.sessions, notification_id, update, clock)
    return Response(status_code=204)


def record_letter_status(sessions: sessionmaker[Session], notification_id: uuid.UUID,
                         update: LetterStatusUpdate, clock: Clock) -> None:
    """Move the letter to the callback's status in one short transaction; log what DVLA reported."""
    fields = {"notification_id": str(notification_id), "job_status": update.job_status,
              "new_status": update.new_status}
    with sessions.begin() as session:
        billable_units = session.execute(
            select(notifications.c.billable_units)
            .where(notifications.c.id == notification_id, notifications.c.notification_type == "letter")
        ).scalar()
        if billable_units is None:
            log.warning("letter callback for a letter that does not exist", extra=fields)
            return
        moved = apply_status(session, notification_id, update.new_status, now=clock.now())
    if update.total_sheets is not None and update.total_sheets != billable_units:
        log.error("DVLA's sheet count differs from the letter's billable units",
                  extra={**fields, "total_sheets": update.total_sheets, "billable_units": billable_units})
    if update.job_status == "REJECTED" and moved:
        log.error("DVLA rejected a letter", extra=fields)  # an error, so that somebody looks at why
    else:
        log.info("letter callback applied" if moved else "letter callback changed nothing", extra=fields)
