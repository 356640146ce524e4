"""`POST /notifications/letter/status?token=…` on SQLite and PostgreSQL: what DVLA's callbacks do to a
letter, and that a forged, missing or mismatched token, or a malformed body, changes nothing."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.providers.letter import LetterCallbackTokens
from clarion.sandbox import dvla_events
from tests.conftest import START, TEST_SECRET
from tests.unit.delivery.factory import AddNotification, load
from tests.unit.letters_dvla.callbacks import despatch_properties, status_callback

TOKENS = LetterCallbackTokens(TEST_SECRET)
PATH = "/notifications/letter/status"
INVALID_TOKEN = {"status_code": 403, "errors": [{"error": "InvalidRequest",
                                                 "message": "A valid token must be provided in the query string"}]}


def post_callback(api_client: Any, letter_id: uuid.UUID, body: Any, *, token: str | None = None) -> Any:
    params = {"token": TOKENS.encode(letter_id) if token is None else token}
    return api_client.post(PATH, params=params, json=body)


@pytest.fixture
def letter(add_notification: AddNotification) -> uuid.UUID:
    """A two-sheet letter DVLA has accepted."""
    return add_notification(notification_type="letter", key_type="normal", status="sending", billable_units=2,
                            postage="second", sent_by="dvla")


def test_despatched_delivers_the_letter(api_client: Any, letter: uuid.UUID, sessions: sessionmaker[Session],
                                        clock: ManualClock) -> None:
    clock.advance(hours=8)
    reply = post_callback(api_client, letter, status_callback(letter))
    assert (reply.status_code, reply.content) == (204, b"")
    stored = load(sessions, letter)
    assert stored.status == "delivered"
    assert stored.updated_at.replace(tzinfo=None) == (START + timedelta(hours=8)).replace(tzinfo=None)


def test_rejected_is_a_technical_failure_and_logged_as_an_error(
        api_client: Any, letter: uuid.UUID, sessions: sessionmaker[Session],
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="clarion.api.letter_callback"):
        reply = post_callback(api_client, letter, status_callback(letter, "REJECTED"))
    assert reply.status_code == 204
    assert load(sessions, letter).status == "technical-failure"
    assert [r.levelname for r in caplog.records if r.message == "DVLA rejected a letter"] == ["ERROR"]


def test_a_callback_that_arrives_again_or_late_changes_nothing(api_client: Any, letter: uuid.UUID,
                                                               sessions: sessionmaker[Session]) -> None:
    assert post_callback(api_client, letter, status_callback(letter)).status_code == 204
    assert post_callback(api_client, letter, status_callback(letter)).status_code == 204
    assert post_callback(api_client, letter, status_callback(letter, "REJECTED")).status_code == 204
    assert load(sessions, letter).status == "delivered"


def test_a_letter_still_created_is_delivered_when_the_callback_beats_the_sending_write(
        api_client: Any, add_notification: AddNotification, sessions: sessionmaker[Session]) -> None:
    racing = add_notification(notification_type="letter", status="created", billable_units=2)
    assert post_callback(api_client, racing, status_callback(racing)).status_code == 204
    assert load(sessions, racing).status == "delivered"


@pytest.mark.parametrize("token", ["", "not-a-token", TOKENS.encode(uuid.UUID(int=7)) + "x",
                                   LetterCallbackTokens("another-secret").encode(uuid.UUID(int=1))],
                         ids=["empty", "not-a-token", "tampered", "signed-with-another-secret"])
def test_a_missing_or_forged_token_is_refused_and_changes_nothing(
        api_client: Any, letter: uuid.UUID, sessions: sessionmaker[Session], token: str) -> None:
    reply = post_callback(api_client, letter, status_callback(letter), token=token)
    assert (reply.status_code, reply.json()) == (403, INVALID_TOKEN)
    assert load(sessions, letter).status == "sending"


def test_no_token_parameter_at_all_is_refused(api_client: Any, letter: uuid.UUID,
                                              sessions: sessionmaker[Session]) -> None:
    reply = api_client.post(PATH, json=status_callback(letter))
    assert (reply.status_code, reply.json()) == (403, INVALID_TOKEN)
    assert load(sessions, letter).status == "sending"


def test_a_forged_token_is_refused_before_the_body_is_read(api_client: Any, letter: uuid.UUID) -> None:
    reply = api_client.post(PATH, params={"token": "forged"}, content=b"not json")
    assert reply.status_code == 403


def test_a_token_for_another_letter_is_refused_and_neither_letter_changes(
        api_client: Any, letter: uuid.UUID, add_notification: AddNotification,
        sessions: sessionmaker[Session]) -> None:
    other = add_notification(notification_type="letter", status="sending", billable_units=1)
    reply = post_callback(api_client, letter, status_callback(other))  # token for `letter`, body about `other`
    assert reply.status_code == 400
    assert reply.json() == {"status_code": 400, "errors": [{
        "error": "InvalidRequest", "message": "Notification ID in letter callback data does not match ID in token"}]}
    assert (load(sessions, letter).status, load(sessions, other).status) == ("sending", "sending")


@pytest.mark.parametrize(("body", "message"), [
    (b"{not json", "the body must be JSON"),
    (b"[]", "the body must be a JSON object"),
    ({"data": {}}, "id is a required property"),
    ("PRINTED", "data.jobStatus must be one of DESPATCHED, REJECTED"),
    ("no-despatch-properties", "data.despatchProperties is a required property when data.jobStatus is DESPATCHED"),
])
def test_a_malformed_body_is_refused_with_what_to_fix_and_changes_nothing(
        api_client: Any, letter: uuid.UUID, sessions: sessionmaker[Session], body: Any, message: str) -> None:
    if body == "PRINTED":
        body = status_callback(letter, "PRINTED")
    elif body == "no-despatch-properties":
        body = status_callback(letter)
        del body["data"]["despatchProperties"]
    if isinstance(body, bytes):
        reply = api_client.post(PATH, params={"token": TOKENS.encode(letter)}, content=body,
                                headers={"Content-Type": "application/json"})
    else:
        reply = post_callback(api_client, letter, body)
    assert reply.status_code == 400
    assert reply.json()["status_code"] == 400
    assert {"error": "ValidationError", "message": message} in reply.json()["errors"]
    assert load(sessions, letter).status == "sending"


def test_a_sheet_count_that_differs_from_the_billable_units_is_logged_as_an_error(
        api_client: Any, letter: uuid.UUID, sessions: sessionmaker[Session],
        caplog: pytest.LogCaptureFixture) -> None:
    body = status_callback(letter, despatchProperties=despatch_properties(sheets="3"))
    with caplog.at_level(logging.INFO, logger="clarion.api.letter_callback"):
        assert post_callback(api_client, letter, body).status_code == 204
    [line] = [r for r in caplog.records if r.message == "DVLA's sheet count differs from the letter's billable units"]
    assert (line.levelname, line.total_sheets, line.billable_units) == ("ERROR", 3, 2)
    assert line.notification_id == str(letter)
    assert load(sessions, letter).status == "delivered"  # the letter went out all the same


def test_a_matching_sheet_count_logs_no_error(api_client: Any, letter: uuid.UUID,
                                              caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="clarion.api.letter_callback"):
        assert post_callback(api_client, letter, status_callback(letter)).status_code == 204
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_valid_token_for_a_letter_we_no_longer_have_is_answered_and_ignored(api_client: Any) -> None:
    gone = uuid.uuid4()
    assert post_callback(api_client, gone, status_callback(gone)).status_code == 204


def test_a_token_for_a_notification_that_is_not_a_letter_changes_nothing(
        api_client: Any, add_notification: AddNotification, sessions: sessionmaker[Session]) -> None:
    text = add_notification(notification_type="sms", status="sending")
    assert post_callback(api_client, text, status_callback(text)).status_code == 204
    assert load(sessions, text).status == "sending"


def test_the_sandbox_dvlas_callback_delivers_the_letter(api_client: Any, letter: uuid.UUID,
                                                        sessions: sessionmaker[Session]) -> None:
    body = dvla_events.status_event(job_id=str(letter), job_status="DESPATCHED", at=START, total_sheets=2,
                                    despatch_method=None, event_id=uuid.uuid4(), correlation_id=uuid.uuid4())
    reply = api_client.post(PATH, params={"token": TOKENS.encode(letter)}, content=body,
                            headers={"Content-Type": "application/json"})
    assert reply.status_code == 204
    assert load(sessions, letter).status == "delivered"
