"""Preparing letters: a template letter is rendered and stored with its sheets as billable units; a
precompiled one is virus-scanned (a real clamd with the EICAR signature) and checked, and ends ready,
`virus-scan-failed` or `validation-failed` with Notify's reason. Letters arrive through the real API."""

from __future__ import annotations

import io
import math
import uuid
from typing import Any

import pypdf
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.db.models import Notification
from clarion.delivery.letters import PrepareOutcome, ScannerUnavailable
from clarion.letters import ClamdScanner, LetterStores, letter_key
from clarion.letters.precompiled import read_address
from tests.unit.delivery.factory import load
from tests.unit.letter_pipeline.conftest import EICAR, PostLetter, Prepare, closed_port
from tests.unit.letters.pdfs import US_LETTER, address_at, body_text, make_pdf, valid_letter
from tests.unit.letters.test_virus_scan import Clamd

LONG_NAME = "a very long name that goes on " * 700  # fills several pages of the seeded "Dear ((name))"


def pages_of(pdf: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def posted_id(reply: Any) -> uuid.UUID:
    assert reply.status_code == 201, reply.text
    return uuid.UUID(reply.json()["id"])


def test_a_template_letter_is_rendered_with_its_address_and_its_sheets_are_its_billable_units(
        post_template_letter: PostLetter, prepare: Prepare, stores: LetterStores,
        sessions: sessionmaker[Session]) -> None:
    letter_id = posted_id(post_template_letter(name=LONG_NAME))
    assert [r.outcome for r in prepare(letter_id)] == [PrepareOutcome.READY]
    pdf = stores.pdf.get(letter_key(letter_id))
    assert pdf is not None and read_address(pdf) == ("Ann Example", "1 High Street", "SW1A 1AA")
    assert pages_of(pdf) > 2
    row = load(sessions, letter_id)
    assert (row.status, row.billable_units) == ("created", math.ceil(pages_of(pdf) / 2))
    assert row.delivery_claimed_at is None


def test_a_template_letter_longer_than_the_page_limit_fails_validation(
        post_template_letter: PostLetter, prepare: Prepare, stores: LetterStores,
        sessions: sessionmaker[Session]) -> None:
    letter_id = posted_id(post_template_letter(name=LONG_NAME))
    assert [r.outcome for r in prepare(letter_id, max_pages=2)] == [PrepareOutcome.VALIDATION_FAILED]
    row = load(sessions, letter_id)
    assert (row.status, row.failure_reason, row.billable_units) == ("validation-failed", "letter-too-long", 0)
    assert not stores.pdf.exists(letter_key(letter_id))  # never printed...
    assert stores.scan.exists(letter_key(letter_id))  # ...but kept to show what was refused


def test_a_test_key_letter_is_rendered_but_stays_delivered(post_template_letter: PostLetter, prepare: Prepare,
                                                          stores: LetterStores,
                                                          sessions: sessionmaker[Session]) -> None:
    letter_id = posted_id(post_template_letter(key="test"))
    assert [r.outcome for r in prepare(letter_id)] == [PrepareOutcome.TEST_KEY]
    row = load(sessions, letter_id)
    assert (row.status, row.billable_units) == ("delivered", 1)
    assert stores.pdf.exists(letter_key(letter_id))


def test_a_clean_valid_precompiled_letter_becomes_ready_with_its_address_and_sheets(
        post_precompiled: PostLetter, prepare: Prepare, stores: LetterStores, sessions: sessionmaker[Session],
        clamd: Clamd) -> None:
    pdf = valid_letter(("Ada Lovelace", "12 St James's Square", "London", "sw1y4jh"), pages=3)
    letter_id = posted_id(post_precompiled(pdf))
    scanner = ClamdScanner(socket_path=clamd.socket_path, timeout_s=30)
    assert [r.outcome for r in prepare(letter_id, scanner=scanner)] == [PrepareOutcome.READY]
    row = load(sessions, letter_id)
    assert (row.status, row.billable_units, row.postage) == ("created", 2, "second")
    assert row.to == "Ada Lovelace\n12 St James's Square\nLondon\nSW1Y 4JH"
    assert stores.pdf.get(letter_key(letter_id)) == pdf
    assert not stores.scan.exists(letter_key(letter_id))


def test_an_eicar_precompiled_letter_fails_the_virus_scan(post_precompiled: PostLetter, prepare: Prepare,
                                                         stores: LetterStores, sessions: sessionmaker[Session],
                                                         clamd: Clamd) -> None:
    letter_id = posted_id(post_precompiled(EICAR))
    scanner = ClamdScanner(socket_path=clamd.socket_path, timeout_s=30)
    assert [r.outcome for r in prepare(letter_id, scanner=scanner)] == [PrepareOutcome.VIRUS_SCAN_FAILED]
    row = load(sessions, letter_id)
    assert (row.status, row.failure_reason) == ("virus-scan-failed", "virus-detected")
    assert not stores.pdf.exists(letter_key(letter_id))


@pytest.mark.parametrize(("pdf", "reason"), [
    (b"this is a text file, not a PDF", "unable-to-read-the-file"),
    (make_pdf([address_at(("Ann", "1 High Street", "SW1A 1AA")) + body_text()], page_size=US_LETTER),
     "letter-not-a4-portrait-oriented"),
    (valid_letter(pages=11), "letter-too-long"),
    (valid_letter(("Ann", "1 High Street", "Not a postcode")), "not-a-real-uk-postcode"),
    (valid_letter(("Ann", "1 Rue de Rivoli", "Paris", "France")), "cant-send-international-letters"),
    (valid_letter(("Ann", "NFA", "SW1A 1AA")), "no-fixed-abode-address"),
])
def test_an_invalid_precompiled_letter_fails_validation_with_notifys_reason(
        post_precompiled: PostLetter, prepare: Prepare, stores: LetterStores, sessions: sessionmaker[Session],
        pdf: bytes, reason: str) -> None:
    letter_id = posted_id(post_precompiled(pdf))
    assert [r.outcome for r in prepare(letter_id)] == [PrepareOutcome.VALIDATION_FAILED]
    row = load(sessions, letter_id)
    assert (row.status, row.failure_reason, row.billable_units) == ("validation-failed", reason, 0)
    assert stores.scan.get(letter_key(letter_id)) == pdf
    assert not stores.pdf.exists(letter_key(letter_id))


def test_a_precompiled_letter_abroad_takes_its_countrys_postage_with_the_permission(
        post_precompiled: PostLetter, prepare: Prepare, sessions: sessionmaker[Session], change_service: Any) -> None:
    change_service(permissions=["letter", "international_letters"])
    letter_id = posted_id(post_precompiled(valid_letter(("Ann", "1 Rue de Rivoli", "Paris", "FRANCE"))))
    assert [r.outcome for r in prepare(letter_id)] == [PrepareOutcome.READY]
    row = load(sessions, letter_id)
    assert (row.status, row.postage, row.to.splitlines()[-1]) == ("created", "europe", "France")


def test_a_test_key_precompiled_letter_is_checked_then_delivered(post_precompiled: PostLetter, prepare: Prepare,
                                                                stores: LetterStores,
                                                                sessions: sessionmaker[Session]) -> None:
    letter_id = posted_id(post_precompiled(valid_letter(), key="test"))
    assert [r.outcome for r in prepare(letter_id)] == [PrepareOutcome.TEST_KEY]
    assert (load(sessions, letter_id).status, load(sessions, letter_id).billable_units) == ("delivered", 1)
    assert stores.pdf.exists(letter_key(letter_id))


def test_an_unreachable_scanner_leaves_the_letter_waiting_for_a_retry(
        post_precompiled: PostLetter, prepare: Prepare, sessions: sessionmaker[Session]) -> None:
    letter_id = posted_id(post_precompiled(valid_letter()))
    [result] = prepare(letter_id, scanner=ClamdScanner(address=("127.0.0.1", closed_port()), timeout_s=5))
    assert isinstance(result.error, ScannerUnavailable)
    row = load(sessions, letter_id)
    assert (row.status, row.delivery_claimed_at) == ("pending-virus-check", None)
    assert [r.outcome for r in prepare(letter_id)] == [PrepareOutcome.READY]  # the retry goes through


def test_a_precompiled_letter_whose_file_is_gone_is_a_technical_failure(
        post_precompiled: PostLetter, prepare: Prepare, stores: LetterStores, sessions: sessionmaker[Session]) -> None:
    letter_id = posted_id(post_precompiled(valid_letter()))
    stores.scan.delete(letter_key(letter_id))
    assert [r.outcome for r in prepare(letter_id)] == [PrepareOutcome.TECHNICAL_FAILURE]
    assert load(sessions, letter_id).status == "technical-failure"


def test_a_second_copy_of_the_message_changes_nothing(post_template_letter: PostLetter,
                                                      post_precompiled: PostLetter, prepare: Prepare,
                                                      sessions: sessionmaker[Session]) -> None:
    ids = [posted_id(post_template_letter()), posted_id(post_precompiled(valid_letter()))]
    assert [r.outcome for r in prepare(*ids)] == [PrepareOutcome.READY, PrepareOutcome.READY]
    before = [(load(sessions, i).status, load(sessions, i).updated_at) for i in ids]
    assert [r.outcome for r in prepare(*ids)] == [PrepareOutcome.SKIPPED, PrepareOutcome.SKIPPED]
    assert [(load(sessions, i).status, load(sessions, i).updated_at) for i in ids] == before


def test_a_letter_another_worker_holds_is_left_until_its_claim_lapses(
        post_template_letter: PostLetter, prepare: Prepare, sessions: sessionmaker[Session],
        clock: ManualClock) -> None:
    letter_id = posted_id(post_template_letter())
    with sessions.begin() as session:
        session.execute(update(Notification).where(Notification.id == letter_id)
                        .values(delivery_claimed_at=clock.now()))
    assert [r.outcome for r in prepare(letter_id)] == [PrepareOutcome.SKIPPED]
    clock.advance(minutes=5, seconds=1)  # the claim lasts DELIVERY_CLAIM_S (5 minutes)
    assert [r.outcome for r in prepare(letter_id)] == [PrepareOutcome.READY]


def test_texts_and_unknown_ids_are_skipped(prepare: Prepare, add_notification: Any) -> None:
    sms = add_notification(key_type="normal")
    assert [r.outcome for r in prepare(sms, uuid.uuid4())] == [PrepareOutcome.SKIPPED, PrepareOutcome.SKIPPED]

