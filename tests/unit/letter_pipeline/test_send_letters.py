"""Handing ready letters to DVLA: clarion's real DVLA client posts to a capturing server on loopback.
The print job carries the stored PDF and a signed callback URL; 409 counts as accepted, 5xx is retried,
a refusal or a missing PDF ends technical-failure, and a letter is never posted twice on purpose."""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.db.models import Notification
from clarion.delivery import apply
from clarion.delivery.letter_printing import PdfMissing, PrintOutcome, PrintResult, send_letters
from clarion.letters import LetterStores, letter_key
from clarion.providers.errors import ProviderUnavailable
from clarion.providers.letter.dvla import PRINT_JOBS_PATH
from tests.conftest import START
from tests.unit.delivery.factory import load
from tests.unit.letter_pipeline.conftest import API_HOST, TOKENS, Dvla, PostLetter, Prepare
from tests.unit.letters.pdfs import valid_letter
from tests.unit.letters_dvla.capture import Reply

@pytest.fixture
def ready_letter(post_template_letter: PostLetter, prepare: Prepare) -> uuid.UUID:
    """A template letter through the API, rendered and stored: ready to print."""
    letter_id = uuid.UUID(post_template_letter().json()["id"])
    prepare(letter_id)
    return letter_id


def send(dvla: Dvla, sessions: sessionmaker[Session], stores: LetterStores, clock: ManualClock,
         *ids: uuid.UUID) -> list[PrintResult]:
    return send_letters(list(ids), sessions=sessions, pdfs=stores.pdf, client=dvla.client, clock=clock,
                        run=dvla.loop.run)


def test_a_ready_letter_goes_to_dvla_with_its_pdf_and_a_signed_callback_and_is_sending(
        dvla: Dvla, ready_letter: uuid.UUID, sessions: sessionmaker[Session], stores: LetterStores,
        clock: ManualClock) -> None:
    assert send(dvla, sessions, stores, clock, ready_letter) == [PrintResult(ready_letter, PrintOutcome.SENDING)]
    row = load(sessions, ready_letter)
    assert (row.status, row.sent_by, row.sent_at, row.delivery_claimed_at) == ("sending", "dvla", START, None)
    [job] = dvla.print_jobs()
    assert job["id"] == str(ready_letter)
    standard = job["standardParams"]
    assert (standard["businessIdentifier"], standard["recipientName"]) == (row.reference, "Ann Example")
    assert standard["address"] == {"unstructuredAddress": {"line1": "1 High Street", "postcode": "SW1A 1AA"}}
    assert "despatchMethod" not in standard  # second class
    custom = {param["key"]: param["value"] for param in job["customParams"]}
    assert base64.b64decode(custom["pdfContent"]) == stores.pdf.get(letter_key(ready_letter))
    assert custom["serviceIdentifier"] == str(row.service_id)
    target = job["callbackParams"]["target"]
    assert target.startswith(f"{API_HOST}/notifications/letter/status?token=")
    assert TOKENS.decode(target.split("token=", 1)[1]) == ready_letter


def test_dvla_already_having_the_job_counts_as_accepted(dvla: Dvla, ready_letter: uuid.UUID,
                                                        sessions: sessionmaker[Session], stores: LetterStores,
                                                        clock: ManualClock) -> None:
    dvla.server.answer(PRINT_JOBS_PATH, Reply(409, {"errors": [{"detail": "Duplicate job id"}]}))
    assert send(dvla, sessions, stores, clock, ready_letter)[0].outcome == PrintOutcome.SENDING
    assert load(sessions, ready_letter).status == "sending"


def test_a_dvla_server_error_leaves_the_letter_ready_for_its_retry(dvla: Dvla, ready_letter: uuid.UUID,
                                                                  sessions: sessionmaker[Session],
                                                                  stores: LetterStores, clock: ManualClock) -> None:
    dvla.server.answer(PRINT_JOBS_PATH, Reply(503, {"errors": [{"detail": "down"}]}))
    [result] = send(dvla, sessions, stores, clock, ready_letter)
    assert isinstance(result.error, ProviderUnavailable)
    row = load(sessions, ready_letter)
    assert (row.status, row.delivery_claimed_at) == ("created", None)
    assert send(dvla, sessions, stores, clock, ready_letter)[0].outcome == PrintOutcome.SENDING
    assert len(dvla.print_jobs()) == 2


def test_a_letter_dvla_refuses_is_a_technical_failure(dvla: Dvla, ready_letter: uuid.UUID,
                                                      sessions: sessionmaker[Session], stores: LetterStores,
                                                      clock: ManualClock) -> None:
    dvla.server.answer(PRINT_JOBS_PATH, Reply(400, {"errors": [{"detail": "address.line1 is too long"}]}))
    assert send(dvla, sessions, stores, clock, ready_letter)[0].outcome == PrintOutcome.TECHNICAL_FAILURE
    row = load(sessions, ready_letter)
    assert (row.status, row.failure_reason) == ("technical-failure", "dvla: address.line1 is too long")


def test_a_ready_letter_whose_pdf_is_gone_is_a_technical_failure_and_nothing_is_posted(
        dvla: Dvla, ready_letter: uuid.UUID, sessions: sessionmaker[Session], stores: LetterStores,
        clock: ManualClock) -> None:
    stores.pdf.delete(letter_key(ready_letter))
    assert send(dvla, sessions, stores, clock, ready_letter)[0].outcome == PrintOutcome.TECHNICAL_FAILURE
    assert load(sessions, ready_letter).failure_reason == str(PdfMissing(
        f"letter {ready_letter} has no PDF in the PDF store"))
    assert dvla.print_jobs() == []


def test_letters_that_are_not_ready_are_never_posted(dvla: Dvla, post_template_letter: PostLetter,
                                                     post_precompiled: PostLetter, prepare: Prepare,
                                                     sessions: sessionmaker[Session], stores: LetterStores,
                                                     clock: ManualClock) -> None:
    not_rendered = uuid.UUID(post_template_letter().json()["id"])
    unchecked = uuid.UUID(post_precompiled(valid_letter()).json()["id"])
    test_key = uuid.UUID(post_template_letter(key="test").json()["id"])
    prepare(test_key)
    results = send(dvla, sessions, stores, clock, not_rendered, unchecked, test_key)
    assert [r.outcome for r in results] == [PrintOutcome.SKIPPED] * 3
    assert dvla.print_jobs() == []


def test_a_letter_is_not_posted_twice(dvla: Dvla, ready_letter: uuid.UUID, sessions: sessionmaker[Session],
                                      stores: LetterStores, clock: ManualClock) -> None:
    with sessions.begin() as session:  # another worker has just claimed it
        session.execute(update(Notification).where(Notification.id == ready_letter)
                        .values(delivery_claimed_at=clock.now()))
    assert send(dvla, sessions, stores, clock, ready_letter)[0].outcome == PrintOutcome.SKIPPED
    with sessions.begin() as session:
        session.execute(update(Notification).where(Notification.id == ready_letter).values(delivery_claimed_at=None))
    assert send(dvla, sessions, stores, clock, ready_letter)[0].outcome == PrintOutcome.SENDING
    assert send(dvla, sessions, stores, clock, ready_letter)[0].outcome == PrintOutcome.SKIPPED  # a duplicate message
    assert len(dvla.print_jobs()) == 1


def test_a_despatch_callback_that_beats_the_hand_off_is_kept(dvla: Dvla, ready_letter: uuid.UUID,
                                                             sessions: sessionmaker[Session], stores: LetterStores,
                                                             clock: ManualClock) -> None:
    held = asyncio.Event()
    dvla.server.answer(PRINT_JOBS_PATH, Reply(202, {"id": str(ready_letter)}, hold=held))
    sending = dvla.loop.run(asyncio.to_thread(send, dvla, sessions, stores, clock, ready_letter))
    dvla.loop.call(dvla.server.wait_for(PRINT_JOBS_PATH))
    with sessions.begin() as session:  # DVLA's callback lands while its 202 is still on the way
        assert apply.apply_status(session, ready_letter, "delivered", now=clock.now())
    dvla.loop.run(_set(held)).result()
    assert sending.result(timeout=30)[0].outcome == PrintOutcome.SENDING
    row = load(sessions, ready_letter)
    assert (row.status, row.sent_by) == ("delivered", "dvla")


async def _set(event: asyncio.Event) -> None:
    event.set()


def test_a_batch_goes_to_dvla_at_once(dvla: Dvla, post_template_letter: PostLetter, prepare: Prepare,
                                      sessions: sessionmaker[Session], stores: LetterStores,
                                      clock: ManualClock) -> None:
    ids = [uuid.UUID(post_template_letter(name=f"Person {n}").json()["id"]) for n in range(5)]
    prepare(*ids)
    assert {r.outcome for r in send(dvla, sessions, stores, clock, *ids)} == {PrintOutcome.SENDING}
    assert sorted(job["id"] for job in dvla.print_jobs()) == sorted(str(i) for i in ids)
    assert {load(sessions, i).status for i in ids} == {"sending"}
