"""Fault settings: which fault a request gets, and which changes are refused (changing nothing)."""

from __future__ import annotations

from typing import Any

import pytest

from clarion.sandbox.faults import Fault, FaultBoard, FaultSettings, InvalidFaultSettings, UnknownProvider


@pytest.mark.parametrize(("draw", "expected"), [
    (0.0, Fault.TIMEOUT), (0.09, Fault.TIMEOUT),
    (0.11, Fault.THROTTLE), (0.29, Fault.THROTTLE),
    (0.31, Fault.ERROR), (0.59, Fault.ERROR),
    (0.61, None), (0.999, None),
])
def test_each_fault_takes_its_own_share_of_the_draw(draw: float, expected: Fault | None) -> None:
    settings = FaultSettings(timeout_rate=0.1, throttle_rate=0.2, error_rate=0.3)

    assert settings.decide(draw) is expected


def test_rates_of_one_and_zero_are_deterministic() -> None:
    assert FaultSettings(error_rate=1).decide(0.999999) is Fault.ERROR
    assert FaultSettings().decide(0.0) is None


def test_a_provider_that_is_down_refuses_whatever_the_draw() -> None:
    assert FaultSettings(down=True).decide(0.99) is Fault.DOWN


def test_a_change_keeps_the_settings_it_does_not_name() -> None:
    board = FaultBoard(["mmg"], default_receipt_delay_s=5.0)
    board.change("mmg", {"error_rate": 0.5})

    updated = board.change("mmg", {"latency_ms": 100})

    assert (updated.error_rate, updated.latency_ms) == (0.5, 100.0)


@pytest.mark.parametrize(("changes", "says"), [
    ({"error_rate": 1.5}, "error_rate must be between 0 and 1"),
    ({"throttle_rate": -0.1}, "throttle_rate must be between 0 and 1"),
    ({"timeout_rate": "0.5"}, "timeout_rate must be a number"),
    ({"fail_receipts": True}, "fail_receipts must be a number"),
    ({"latency_ms": -1}, "latency_ms must be between 0"),
    ({"latency_ms": 10_000_000}, "latency_ms must be between 0"),
    ({"receipt_delay_s": -2}, "receipt_delay_s must be between 0"),
    ({"error_rate": float("nan")}, "error_rate must be a number"),
    ({"down": "yes"}, "down must be true or false"),
    ({"eror_rate": 0.1}, "unknown fault setting 'eror_rate'"),
    ([("error_rate", 1)], "JSON object"),
])
def test_a_bad_change_is_refused_and_changes_nothing(changes: Any, says: str) -> None:
    board = FaultBoard(["mmg"], default_receipt_delay_s=5.0)
    before = board.as_json()

    with pytest.raises(InvalidFaultSettings, match=says):
        board.change("mmg", {"latency_ms": 5, **changes} if isinstance(changes, dict) else changes)

    assert board.as_json() == before


def test_an_unknown_provider_is_named_with_the_known_ones() -> None:
    board = FaultBoard(["mmg", "firetext"], default_receipt_delay_s=5.0)

    with pytest.raises(UnknownProvider, match="no simulated provider 'twilio'; known: mmg, firetext"):
        board.change("twilio", {"down": True})


def test_the_receipt_delay_is_the_default_until_set_and_again_after_null() -> None:
    board = FaultBoard(["ses"], default_receipt_delay_s=5.0)
    assert board.receipt_delay_s("ses") == 5.0

    board.change("ses", {"receipt_delay_s": 30})
    assert board.receipt_delay_s("ses") == 30.0
    assert board.as_json()["ses"]["receipt_delay_s"] == 30.0

    board.change("ses", {"receipt_delay_s": None})
    assert board.receipt_delay_s("ses") == 5.0


def test_reset_turns_every_fault_off() -> None:
    board = FaultBoard(["mmg", "ses"], default_receipt_delay_s=5.0)
    board.change("mmg", {"down": True, "error_rate": 1})

    board.reset()

    assert board.of("mmg") == FaultSettings()


def test_a_provider_can_have_its_own_default_receipt_delay() -> None:
    board = FaultBoard(["mmg", "dvla"], default_receipt_delay_s=5.0, provider_receipt_delays_s={"dvla": 60.0})

    assert (board.receipt_delay_s("mmg"), board.receipt_delay_s("dvla")) == (5.0, 60.0)
    board.change("dvla", {"receipt_delay_s": 1})
    assert board.receipt_delay_s("dvla") == 1.0
