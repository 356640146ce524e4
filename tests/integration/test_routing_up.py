"""`clarion up` with the sandbox failing MMG: real texts move to Firetext, every one is delivered, and
the weights come back once MMG recovers (issue 4, design.md §5).

The routing windows are shortened through settings (environment variables), as an operator would:
a 1 s fault guard, tend-back every second after 4 quiet seconds, and a 0.2 s routing cache. The
resting points are set to 50/50 so that whole steps of 10 drain MMG to 0: from the seeded 51 the
last point would only be met by one text in a hundred.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.integration.test_up import Up, clarion_up, final_status  # noqa: F401  (clarion_up is a fixture)

SHORT_WINDOWS = {
    "PROVIDER_FAULT_GUARD_S": "1",
    "PROVIDER_TEND_BACK_INTERVAL_S": "1",
    "PROVIDER_TEND_BACK_QUIET_S": "4",
    "ROUTING_CACHE_TTL_S": "0.2",
    "SMS_SLOW_CHECK_INTERVAL_S": "60",  # keeps the slow-delivery check out of the way
    "SMS_PROVIDER_RESTING_POINTS": '{"mmg": 50, "firetext": 50}',
}
RESTING = {"mmg": 50, "firetext": 50}
DRAINED = {"mmg": 0, "firetext": 100}
STEP = 10
ACTOR = "clarion-routing"
FAULT_REASONS = {"mmg": "Reduced due to reduced reliability",
                 "firetext": "Increased due to reduced reliability in other provider"}
TEND_BACK_REASON = "Adjusted back to resting point"
WEIGHTS_TIMEOUT_S = 45
SEND_EVERY_S = 0.1
MAX_TEXTS = 450  # the sender's own bound, beyond the wait for the weights
TEXTS_AFTER_RECOVERY = 20
DELIVERED_NUMBER = "07700900123"


@pytest.fixture(autouse=True)
def shortened_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set before `clarion_up` copies the environment for `clarion up` and its children (autouse runs first)."""
    for name, value in SHORT_WINDOWS.items():
        monkeypatch.setenv(name, value)


def sms_weights(up: Up) -> dict[str, int]:
    """The text providers' weights, as `clarion providers` shows them (0 for an inactive one)."""
    return {row["identifier"]: row["priority"] if row["active"] else 0
            for row in json.loads(up.clarion("providers")) if row["notification_type"] == "sms"}


def history(up: Up, provider: str) -> list[dict[str, Any]]:
    """The provider's versions, oldest first, as `clarion providers history --json` prints them."""
    lines = up.clarion("providers", "history", provider, "--type", "sms", "--json", "--limit", "500").splitlines()
    return sorted((json.loads(line) for line in lines), key=lambda row: row["version"])


def log_tail(up: Up, name: str, lines: int = 40) -> str:
    path = up.folder / ".clarion" / "logs" / f"{name}.log"
    return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else f"(no {name}.log)"


def wait_for_weights(up: Up, wanted: dict[str, int], why: str) -> None:
    deadline = time.monotonic() + WEIGHTS_TIMEOUT_S
    weights: dict[str, int] = {}
    while time.monotonic() < deadline:
        assert up.process.poll() is None, (f"clarion up exited while waiting for {why}:\n{up.out.read_text()}\n"
                                           f"worker log:\n{log_tail(up, 'worker')}")
        weights = sms_weights(up)
        if weights == wanted:
            return
        time.sleep(0.2)
    pytest.fail(f"weights still {weights}, not {wanted} ({why}) after {WEIGHTS_TIMEOUT_S} s\n"
                f"mmg history: {history(up, 'mmg')}\nsandbox: {up.sandbox_stats()}\n"
                f"worker log:\n{log_tail(up, 'worker')}\nscheduler log:\n{log_tail(up, 'scheduler')}")


def send_text(up: Up) -> str:
    """One text through the official client with the normal key; its id."""
    sent = up.client().send_sms_notification(phone_number=DELIVERED_NUMBER, template_id=up.demo()["templates"]["sms"],
                                             personalisation={"name": "you"})
    return sent["id"]


@contextmanager
def sending_texts(up: Up) -> Iterator[list[str]]:
    """Texts sent steadily on a thread while the block runs (at most MAX_TEXTS); the ids sent."""
    ids: list[str] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def send() -> None:
        try:
            while len(ids) < MAX_TEXTS and not stop.is_set():
                ids.append(send_text(up))
                stop.wait(SEND_EVERY_S)
        except BaseException as error:  # shown by the test, not lost on the thread
            errors.append(error)

    thread = threading.Thread(target=send, name="sender", daemon=True)
    thread.start()
    try:
        yield ids
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive(), "the sender did not stop"
    assert not errors, f"sending a text failed: {errors[0]!r} ({errors[0].__cause__!r})\n{log_tail(up, 'worker')}"


def assert_all_delivered(up: Up, ids: list[str]) -> None:
    client = up.client()
    statuses = {notification_id: final_status(client, notification_id, up) for notification_id in ids}
    not_delivered = {i: status for i, status in statuses.items() if status != "delivered"}
    assert not not_delivered, f"{len(not_delivered)} of {len(ids)} not delivered: {not_delivered}"


def steps(rows: list[dict[str, Any]], reason: str) -> list[tuple[int, int]]:
    """(previous, new) weight of each automatic change with this reason."""
    return [(row["previous_priority"], row["priority"]) for row in rows
            if row["reason"] == reason and row["created_by"] == ACTOR]


def test_texts_move_off_a_failing_provider_and_come_back_after_it_recovers(clarion_up: Up) -> None:
    up = clarion_up
    # Tend-back first moves the seeded 51/49 to the configured resting points: the settings reached beat.
    wait_for_weights(up, RESTING, "tend-back to SMS_PROVIDER_RESTING_POINTS")
    up.clarion("sandbox", "set", "mmg", "--error-rate", "1")

    with sending_texts(up) as drained:
        wait_for_weights(up, DRAINED, "faults on mmg to take all its weight")
    assert len(drained) < MAX_TEXTS

    # Weight left mmg in steps of 10, each one an automatic change for its faults.
    mmg_faults = steps(history(up, "mmg"), FAULT_REASONS["mmg"])
    assert mmg_faults and all(old - new == STEP for old, new in mmg_faults), mmg_faults
    assert mmg_faults[-1] == (STEP, 0)
    firetext_gains = steps(history(up, "firetext"), FAULT_REASONS["firetext"])
    assert len(firetext_gains) == len(mmg_faults)
    assert all(new - old == STEP for old, new in firetext_gains), firetext_gains

    # Every text was delivered, through Firetext: those that met the failing mmg failed over to it.
    assert_all_delivered(up, drained)
    stats = up.sandbox_stats()
    assert stats["mmg"]["accepted"] == 0
    assert stats["mmg"]["faults_injected"] >= len(mmg_faults)
    assert stats["firetext"]["accepted"] == len(drained)

    up.clarion("sandbox", "set", "mmg", "--error-rate", "0")
    wait_for_weights(up, RESTING, "tend-back after mmg recovered")
    mmg_rows = history(up, "mmg")
    last_fault = max(i for i, row in enumerate(mmg_rows) if row["reason"] == FAULT_REASONS["mmg"])
    assert steps(mmg_rows[last_fault + 1:], TEND_BACK_REASON) == [(0, 10), (10, 20), (20, 30), (30, 40), (40, 50)]
    assert len(mmg_rows) == last_fault + 6, mmg_rows[last_fault + 1:]

    # mmg takes real texts again, and every one is delivered.
    before = up.sandbox_stats()
    recovered = []
    for _ in range(TEXTS_AFTER_RECOVERY):
        recovered.append(send_text(up))
        time.sleep(SEND_EVERY_S)
    assert_all_delivered(up, recovered)
    after = up.sandbox_stats()
    accepted = {name: after[name]["accepted"] - before[name]["accepted"] for name in ("mmg", "firetext")}
    assert accepted["mmg"] > 0, accepted
    assert accepted["mmg"] + accepted["firetext"] == len(recovered)
    assert after["mmg"]["faults_injected"] == before["mmg"]["faults_injected"]
