"""Preparing a batch when one letter's preparation breaks: a database write refused for one letter, or a
store that fails, leaves that letter for its retry and the rest of the batch is prepared; a letter that
cannot be rendered ends technical-failure, or (test key) stays `delivered` and is not swept up again."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.delivery import letters
from clarion.delivery.letters import LetterOptions, PrepareOutcome
from clarion.letters import LetterStores, LocalFolderStore, NoScanner, StorageError, letter_key
from clarion.letters.fonts import LetterFonts
from tests.unit.delivery.factory import load
from tests.unit.letter_pipeline.conftest import PostLetter, Prepare
from tests.unit.letter_pipeline.test_send_letters_failures import database_refuses


def recording_ready(statement: str) -> bool:
    return statement.startswith("UPDATE notifications SET billable_units")


def test_a_database_error_for_one_letter_leaves_it_for_its_retry_and_the_batch_goes_on(
        post_template_letter: PostLetter, prepare: Prepare, sessions: sessionmaker[Session],
        engine: Engine) -> None:
    ids = [uuid.UUID(post_template_letter(name=f"Person {n}").json()["id"]) for n in range(3)]
    refused_once: list[bool] = []

    def first_recording(statement: str) -> bool:  # the database is locked for the first letter's write only
        if recording_ready(statement) and not refused_once:
            refused_once.append(True)
            return True
        return False

    with database_refuses(engine, first_recording):
        results = prepare(*ids)
    [failed] = [r for r in results if r.error is not None]
    assert isinstance(failed.error, OperationalError)
    assert sorted(r.outcome for r in results if r is not failed) == [PrepareOutcome.READY] * 2
    row = load(sessions, failed.notification_id)  # unchanged and let go, for its retry
    assert (row.status, row.billable_units, row.delivery_claimed_at) == ("created", 0, None)
    assert [r.outcome for r in prepare(failed.notification_id)] == [PrepareOutcome.READY]


class BrokenFirstWrite(LocalFolderStore):
    """The PDF folder, whose first write fails as a full disk does."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.failed = False

    def put(self, key: str, data: bytes) -> None:
        if not self.failed:
            self.failed = True
            raise StorageError(f"could not write {key} in {self.folder}: No space left on device")
        super().put(key, data)


def test_a_store_failure_for_one_letter_leaves_it_for_its_retry_and_the_batch_goes_on(
        post_template_letter: PostLetter, stores: LetterStores, sessions: sessionmaker[Session],
        clock: ManualClock) -> None:
    ids = [uuid.UUID(post_template_letter(name=f"Person {n}").json()["id"]) for n in range(3)]
    assert isinstance(stores.pdf, LocalFolderStore)
    flaky = LetterStores(scan=stores.scan, pdf=BrokenFirstWrite(stores.pdf.folder))
    results = letters.prepare_letters(ids, sessions=sessions, stores=flaky, scanner=NoScanner(), clock=clock)
    [failed] = [r for r in results if r.error is not None]
    assert isinstance(failed.error, StorageError)
    assert sorted(r.outcome for r in results if r is not failed) == [PrepareOutcome.READY] * 2
    assert load(sessions, failed.notification_id).delivery_claimed_at is None


@pytest.fixture
def unusable_fonts(tmp_path: Path) -> LetterOptions:
    """Options naming a font file that is not a font: rendering fails every time."""
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"this is not a TrueType font")
    return LetterOptions(fonts=LetterFonts(regular=broken, bold=broken))


def requeued(sessions: sessionmaker[Session], clock: ManualClock) -> list[uuid.UUID]:
    with sessions.begin() as session:
        return letters.requeue_unprepared(session, now=clock.now(), older_than=timedelta(hours=1),
                                          lookback=timedelta(days=7), lasts=timedelta(minutes=5), limit=100)


def test_a_live_letter_that_cannot_be_rendered_is_a_technical_failure(
        post_template_letter: PostLetter, stores: LetterStores, sessions: sessionmaker[Session],
        clock: ManualClock, unusable_fonts: LetterOptions) -> None:
    letter_id = uuid.UUID(post_template_letter().json()["id"])
    [result] = letters.prepare_letters([letter_id], sessions=sessions, stores=stores, scanner=NoScanner(),
                                       clock=clock, options=unusable_fonts)
    assert result.outcome == PrepareOutcome.TECHNICAL_FAILURE
    row = load(sessions, letter_id)
    assert (row.status, row.failure_reason) == ("technical-failure", "the letter could not be rendered to PDF")


def test_a_test_key_letter_that_cannot_be_rendered_stays_delivered_and_is_not_requeued(
        post_template_letter: PostLetter, prepare: Prepare, stores: LetterStores, sessions: sessionmaker[Session],
        clock: ManualClock, unusable_fonts: LetterOptions) -> None:
    letter_id = uuid.UUID(post_template_letter(key="test").json()["id"])
    renders = uuid.UUID(post_template_letter(key="test").json()["id"])  # one whose rendering never ran
    [result] = letters.prepare_letters([letter_id], sessions=sessions, stores=stores, scanner=NoScanner(),
                                       clock=clock, options=unusable_fonts)
    assert result.outcome == PrepareOutcome.TEST_KEY_NOT_PREPARED
    row = load(sessions, letter_id)
    assert (row.status, row.billable_units, row.delivery_claimed_at) == ("delivered", 0, None)
    assert row.failure_reason == "the letter could not be rendered to PDF"
    assert not stores.pdf.exists(letter_key(letter_id))
    clock.advance(hours=1, seconds=1)
    assert requeued(sessions, clock) == [renders]  # the sweep still finds test letters never prepared
