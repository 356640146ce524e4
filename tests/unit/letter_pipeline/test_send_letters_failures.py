"""Handing a batch to DVLA when something breaks part-way: a database write for one letter fails while
the others' print jobs are still on their way (a real DVLA client, a capturing server on loopback, and a
statement refused by the database for one letter), and PDFs are read on the batch's own bounded threads."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.delivery.letter_printing import PrintOutcome, PrintResult, SendingNotRecorded, send_letters
from clarion.letters import LetterStores, LocalFolderStore, StorageError, letter_key
from clarion.providers.letter.dvla import PRINT_JOBS_PATH
from tests.conftest import START
from tests.unit.delivery.factory import load
from tests.unit.letter_pipeline.conftest import Dvla, PostLetter, Prepare
from tests.unit.letters_dvla.capture import Reply

StatementTest = Callable[[str], bool]


@contextmanager
def database_refuses(engine: Engine, refused: StatementTest) -> Iterator[list[str]]:
    """Every statement `refused` picks fails as a locked SQLite database fails; yields those refused."""
    seen: list[str] = []

    def refuse(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if refused(statement):
            seen.append(statement)
            raise OperationalError(statement, parameters, Exception("database is locked"))

    event.listen(engine, "before_cursor_execute", refuse)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", refuse)


def giving_up(statement: str) -> bool:
    return statement.startswith("UPDATE notifications SET status") and "failure_reason" in statement


def releasing_a_claim(statement: str) -> bool:
    return statement.startswith("UPDATE notifications SET delivery_claimed_at") and "updated_at" in statement


def remove_pdf(stores: LetterStores, letter_id: uuid.UUID) -> None:
    stores.pdf.delete(letter_key(letter_id))  # PdfMissing: DVLA never sees it, the letter gives up


def make_pdf_unreadable(stores: LetterStores, letter_id: uuid.UUID) -> None:
    assert isinstance(stores.pdf, LocalFolderStore)
    path = stores.pdf.folder / letter_key(letter_id)
    path.unlink()
    path.mkdir()  # reading it is a disk error (StorageError): retried later, its claim released


@pytest.fixture
def three_ready(post_template_letter: PostLetter, prepare: Prepare) -> list[uuid.UUID]:
    ids = [uuid.UUID(post_template_letter(name=f"Person {n}").json()["id"]) for n in range(3)]
    prepare(*ids)
    return ids


@pytest.mark.parametrize(("break_letter", "refused", "error"), [
    (remove_pdf, giving_up, OperationalError),
    (make_pdf_unreadable, releasing_a_claim, StorageError),
])
def test_a_failed_write_for_one_letter_never_abandons_the_others_in_flight(
        break_letter: Callable[[LetterStores, uuid.UUID], None], refused: StatementTest, error: type[Exception],
        dvla: Dvla, three_ready: list[uuid.UUID], sessions: sessionmaker[Session], stores: LetterStores,
        clock: ManualClock, engine: Engine) -> None:
    broken, *fine = three_ready
    break_letter(stores, broken)
    held = asyncio.Event()  # DVLA keeps both jobs waiting until the broken letter's write has failed
    dvla.server.answer(PRINT_JOBS_PATH, Reply(202, {"id": "accepted"}, hold=held),
                       Reply(202, {"id": "accepted"}, hold=held))
    with database_refuses(engine, refused) as seen:
        sending = dvla.loop.run(asyncio.to_thread(
            send_letters, three_ready, sessions=sessions, pdfs=stores.pdf, client=dvla.client, clock=clock,
            run=dvla.loop.run))
        dvla.loop.call(dvla.server.wait_for(PRINT_JOBS_PATH, count=2))
        dvla.loop.call(wait_until(lambda: bool(seen)))
        dvla.loop.run(_set(held)).result()
        results = sending.result(timeout=30)
    assert seen  # the write really failed
    assert results[1:] == [PrintResult(i, PrintOutcome.SENDING) for i in fine]
    assert isinstance(results[0].error, error)
    assert [(load(sessions, i).status, load(sessions, i).sent_by) for i in fine] == [("sending", "dvla")] * 2
    row = load(sessions, broken)  # untouched: its claim keeps it from being sent again until it lapses
    assert (row.status, row.delivery_claimed_at) == ("created", START)
    assert sorted(job["id"] for job in dvla.print_jobs()) == sorted(str(i) for i in fine)


def test_a_hand_off_the_database_would_not_record_is_reported_and_the_rest_are_settled(
        dvla: Dvla, three_ready: list[uuid.UUID], sessions: sessionmaker[Session], stores: LetterStores,
        clock: ManualClock, engine: Engine) -> None:
    refused_letter, *_ = three_ready
    remove_pdf(stores, refused_letter)
    with database_refuses(engine, lambda s: s.startswith("UPDATE notifications SET status") and "sent_at" in s):
        results = send_letters(three_ready, sessions=sessions, pdfs=stores.pdf, client=dvla.client, clock=clock,
                               run=dvla.loop.run)
    assert results[0] == PrintResult(refused_letter, PrintOutcome.TECHNICAL_FAILURE)
    assert [type(r.error) for r in results[1:]] == [SendingNotRecorded] * 2
    assert load(sessions, refused_letter).status == "technical-failure"


class ObservedStore(LocalFolderStore):
    """The PDF folder, noting which threads read it."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.readers: set[str] = set()

    def get(self, key: str) -> bytes | None:
        self.readers.add(threading.current_thread().name)
        return super().get(key)


def test_pdfs_are_read_on_the_batchs_own_bounded_threads_while_every_letter_goes(
        dvla: Dvla, post_template_letter: PostLetter, prepare: Prepare, sessions: sessionmaker[Session],
        stores: LetterStores, clock: ManualClock) -> None:
    ids = [uuid.UUID(post_template_letter(name=f"Person {n}").json()["id"]) for n in range(6)]
    prepare(*ids)
    assert isinstance(stores.pdf, LocalFolderStore)
    pdfs = ObservedStore(stores.pdf.folder)
    results = send_letters(ids, sessions=sessions, pdfs=pdfs, client=dvla.client, clock=clock, run=dvla.loop.run,
                           pdf_readers=2)
    assert {r.outcome for r in results} == {PrintOutcome.SENDING}
    assert len(dvla.print_jobs()) == 6
    assert 1 <= len(pdfs.readers) <= 2
    assert all(name.startswith("letter-pdf") for name in pdfs.readers)  # not the event loop's default executor


def test_a_letter_whose_call_cannot_start_is_released_for_its_retry(
        three_ready: list[uuid.UUID], dvla: Dvla, sessions: sessionmaker[Session], stores: LetterStores,
        clock: ManualClock) -> None:
    def closed_loop(coroutine: Any) -> Any:
        raise RuntimeError("the provider loop is closed")
    results = send_letters(three_ready, sessions=sessions, pdfs=stores.pdf, client=dvla.client, clock=clock,
                           run=closed_loop)
    assert all(isinstance(r.error, RuntimeError) for r in results)
    assert {(load(sessions, i).status, load(sessions, i).delivery_claimed_at) for i in three_ready} == {
        ("created", None)}
    assert dvla.print_jobs() == []


async def wait_until(condition: Callable[[], bool]) -> None:
    """Until `condition` holds (a deadline only so a broken test ends)."""
    async def polled() -> None:
        while not condition():
            await asyncio.sleep(0.005)
    await asyncio.wait_for(polled(), 10)


async def _set(event_: asyncio.Event) -> None:
    event_.set()

