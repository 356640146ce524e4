"""The letter tasks on clarion's Celery app (in-memory broker): preparing hands ready letters on to DVLA
in as_ready mode and holds them in daily mode, failures are retried alone on the retry queue, spent
retries end technical-failure, and the collation beat sends the day's batch once the cut-off passed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.config import Settings
from clarion.delivery.letters import LetterOptions
from clarion.letters import ClamdScanner, LetterStores, NoScanner, Scanner
from clarion.providers.letter.dvla import PRINT_JOBS_PATH
from clarion.providers.registry import NotificationProviderClients
from clarion.worker import schedule
from clarion.worker.context import LetterParts, WorkerContext, install_context
from clarion.worker.letter_tasks import recollect_after
from clarion.worker.queues import CREATE_LETTERS_PDF_QUEUE, PERIODIC_QUEUE, RETRY_QUEUE, SEND_LETTER_QUEUE
from clarion.worker.retry import RetryPolicy
from tests.unit.api.conftest import wait_for
from tests.unit.delivery.factory import load
from tests.unit.letter_pipeline.conftest import Dvla, PostLetter, closed_port
from tests.unit.letters.pdfs import valid_letter
from tests.unit.letters_dvla.capture import Reply
from tests.unit.worker.conftest import take_messages


class Worker:
    """Runs the letter tasks in this process with a context of the test's choosing."""

    def __init__(self, app: Celery, settings: Settings, sessions: sessionmaker[Session], stores: LetterStores,
                 clock: ManualClock, dvla: Dvla) -> None:
        self.app, self.settings, self.sessions, self.stores, self.clock, self.dvla = (
            app, settings, sessions, stores, clock, dvla)
        self.use()

    def use(self, *, scanner: Scanner | None = None, max_retries: int = 48, dvla_configured: bool = True,
            **settings: Any) -> None:
        parts = LetterParts(stores=self.stores, scanner=scanner or NoScanner(),
                            printer=self.dvla.client if dvla_configured else None, options=LetterOptions())
        install_context(self.app, WorkerContext(
            settings=self.settings.model_copy(update=settings), sessions=self.sessions,
            clients=NotificationProviderClients([]), clock=self.clock,
            retry_policy=RetryPolicy(max_retries=max_retries, delay_s=300), loop=self.dvla.loop, letters=parts))

    def run(self, task: str, *args: Any) -> Any:
        return self.app.tasks[task](*args)

    def messages(self, queue: str) -> list[tuple[str, list[Any]]]:
        return [(headers["task"], args) for headers, args in take_messages(self.app, queue)]


@pytest.fixture
def worker(celery_app: Celery, settings: Settings, sessions: sessionmaker[Session], stores: LetterStores,
           clock: ManualClock, dvla: Dvla) -> Iterator[Worker]:
    yield Worker(celery_app, settings, sessions, stores, clock, dvla)
    for queue in (CREATE_LETTERS_PDF_QUEUE, SEND_LETTER_QUEUE, RETRY_QUEUE, PERIODIC_QUEUE):
        take_messages(celery_app, queue)


def ids_of(*replies: Any) -> list[str]:
    return [reply.json()["id"] for reply in replies]


def test_in_as_ready_mode_prepared_letters_go_straight_on_to_dvla(worker: Worker, post_template_letter: PostLetter,
                                                                  sessions: sessionmaker[Session]) -> None:
    live, test_key = ids_of(post_template_letter(), post_template_letter(key="test"))
    worker.run("prepare_letters", [live, test_key], 0)
    assert worker.messages(SEND_LETTER_QUEUE) == [("send_letters_to_dvla", [[live], 0])]
    worker.run("send_letters_to_dvla", [live], 0)
    assert load(sessions, uuid.UUID(live)).status == "sending"
    assert [job["id"] for job in worker.dvla.print_jobs()] == [live]


def test_in_daily_mode_prepared_letters_wait_for_the_cutoff(worker: Worker, post_template_letter: PostLetter,
                                                            sessions: sessionmaker[Session],
                                                            clock: ManualClock) -> None:
    worker.use(letters_send_mode="daily")
    [letter] = ids_of(post_template_letter())  # at 09:00 on a winter Monday
    worker.run("prepare_letters", [letter], 0)
    assert worker.messages(SEND_LETTER_QUEUE) == []
    clock.advance(hours=8, minutes=29)
    worker.run("collate_letters")  # 17:29
    assert worker.messages(SEND_LETTER_QUEUE) == []
    clock.advance(minutes=2)
    worker.run("collate_letters")  # 17:31
    assert worker.messages(SEND_LETTER_QUEUE) == [("send_letters_to_dvla", [[letter], 0])]
    assert load(sessions, uuid.UUID(letter)).status == "created"


def test_a_scanner_failure_is_retried_alone_on_the_retry_queue(worker: Worker, post_precompiled: PostLetter,
                                                               post_template_letter: PostLetter,
                                                               sessions: sessionmaker[Session]) -> None:
    worker.use(scanner=ClamdScanner(address=("127.0.0.1", closed_port()), timeout_s=5))
    template, precompiled = ids_of(post_template_letter(), post_precompiled(valid_letter()))
    worker.run("prepare_letters", [template, precompiled], 0)
    assert worker.messages(RETRY_QUEUE) == [("prepare_letters", [[precompiled], 1])]
    assert worker.messages(SEND_LETTER_QUEUE) == [("send_letters_to_dvla", [[template], 0])]
    assert load(sessions, uuid.UUID(precompiled)).status == "pending-virus-check"
    worker.use()  # clamd is back
    worker.run("prepare_letters", [precompiled], 1)
    assert load(sessions, uuid.UUID(precompiled)).status == "created"


def test_a_dvla_outage_is_retried_and_spent_retries_end_in_technical_failure(
        worker: Worker, post_template_letter: PostLetter, sessions: sessionmaker[Session]) -> None:
    worker.use(max_retries=1)
    [letter] = ids_of(post_template_letter())
    worker.run("prepare_letters", [letter], 0)
    worker.messages(SEND_LETTER_QUEUE)
    worker.dvla.server.answer(PRINT_JOBS_PATH, Reply(500, {}), Reply(500, {}))
    worker.run("send_letters_to_dvla", [letter], 0)
    assert worker.messages(RETRY_QUEUE) == [("send_letters_to_dvla", [[letter], 1])]
    worker.run("send_letters_to_dvla", [letter], 1)
    assert worker.messages(RETRY_QUEUE) == []
    row = load(sessions, uuid.UUID(letter))
    assert (row.status, row.failure_reason) == (
        "technical-failure", "RETRY FAILED: max retries reached after 2 attempts")


def test_collation_puts_letters_whose_message_was_lost_back_on_their_queues(
        worker: Worker, post_template_letter: PostLetter, post_precompiled: PostLetter, clock: ManualClock) -> None:
    ready, unprepared = ids_of(post_template_letter(), post_precompiled(valid_letter()))
    lost: list[str] = []  # the API's own messages: take them off the queue, as if the broker lost them
    assert wait_for(lambda: bool(lost.extend(i for _, (batch, _attempt) in worker.messages(CREATE_LETTERS_PDF_QUEUE)
                                             for i in batch)) or len(lost) == 2)
    worker.use(letters_send_mode="daily")  # prepare without sending on
    worker.run("prepare_letters", [ready], 0)
    worker.use()
    clock.advance(hours=1, seconds=1)  # REQUEUE_CREATED_AFTER_S
    assert worker.run("collate_letters") == 2
    assert worker.messages(SEND_LETTER_QUEUE) == [("send_letters_to_dvla", [[ready], 0])]
    assert worker.messages(CREATE_LETTERS_PDF_QUEUE) == [("prepare_letters", [[unprepared], 0])]


def test_the_collation_runs_on_the_beat(settings: Settings) -> None:
    entry = schedule.beat_schedule(settings)["collate-letters"]
    assert entry["task"] == "collate_letters"
    assert entry["options"]["queue"] == PERIODIC_QUEUE


def test_in_daily_mode_collation_leaves_a_letter_being_retried_to_its_retries(
        worker: Worker, post_template_letter: PostLetter, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    worker.use(letters_send_mode="daily", max_retries=2)
    [letter] = ids_of(post_template_letter())
    worker.run("prepare_letters", [letter], 0)
    worker.dvla.server.always(PRINT_JOBS_PATH, Reply(500, {}))  # DVLA is down all evening
    clock.advance(hours=8, minutes=31)
    worker.run("collate_letters")  # 17:31
    assert worker.messages(SEND_LETTER_QUEUE) == [("send_letters_to_dvla", [[letter], 0])]
    attempt = 0
    while True:
        worker.run("send_letters_to_dvla", [letter], attempt)
        retries = worker.messages(RETRY_QUEUE)
        if not retries:
            break
        [(_task, [_ids, attempt])] = retries
        for _ in range(6):  # a sweep a minute until the retry's 300 s countdown is over, and it runs a little late
            clock.advance(seconds=61)
            worker.run("collate_letters")
            assert worker.messages(SEND_LETTER_QUEUE) == []  # no second chain starting again at attempt 0
    row = load(sessions, uuid.UUID(letter))
    assert (row.status, row.failure_reason) == (
        "technical-failure", "RETRY FAILED: max retries reached after 3 attempts")
    assert len(worker.dvla.print_jobs()) == 3


def test_in_as_ready_mode_a_letter_dvla_cannot_take_is_queued_again_hourly_not_every_sweep(
        worker: Worker, post_template_letter: PostLetter, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    worker.use(dvla_configured=False)
    [letter] = ids_of(post_template_letter())
    worker.run("prepare_letters", [letter], 0)
    assert worker.messages(SEND_LETTER_QUEUE) == [("send_letters_to_dvla", [[letter], 0])]
    worker.run("send_letters_to_dvla", [letter], 0)  # no DVLA client: the letter waits, ready
    queued = []
    for _ in range(180):  # three hours of sweeps, one a minute
        clock.advance(minutes=1)
        worker.run("collate_letters")
        queued += worker.messages(SEND_LETTER_QUEUE)
    assert queued == [("send_letters_to_dvla", [[letter], 0])] * 2  # after 61 and 122 minutes
    assert load(sessions, uuid.UUID(letter)).status == "created"


@pytest.mark.parametrize(("mode", "retry_delay_s", "requeue_after_s", "settle"), [
    ("daily", 300, 3600, timedelta(minutes=10)),
    ("daily", 1800, 3600, timedelta(hours=1)),
    ("as_ready", 300, 3600, timedelta(hours=1)),
    ("as_ready", 3600, 3600, timedelta(hours=2)),
])
def test_collation_waits_longer_than_a_retry_before_queueing_a_letter_again(
        settings: Settings, mode: str, retry_delay_s: int, requeue_after_s: int, settle: timedelta) -> None:
    changed = settings.model_copy(update={"letters_send_mode": mode, "delivery_retry_delay_s": retry_delay_s,
                                          "requeue_created_after_s": requeue_after_s})
    assert recollect_after(changed) == settle
