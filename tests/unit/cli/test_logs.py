"""Every process logs JSON lines with stable keys, and never a whole phone number or email address."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from clarion.logs import configure_logging, redact_recipient


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    sink = io.StringIO()
    configure_logging("worker", stream=sink)
    yield sink
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(False)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_log_line_is_json_with_the_process_and_extra_keys(stream: io.StringIO) -> None:
    logging.getLogger("clarion.delivery").info("sent %s", "it", extra={"notification_id": "n-1",
                                                                        "provider_name": "mmg", "duration": 0.25})
    [line] = lines(stream)
    assert line["message"] == "sent it"
    assert line["level"] == "INFO" and line["logger"] == "clarion.delivery" and line["process"] == "worker"
    assert line["notification_id"] == "n-1" and line["provider_name"] == "mmg" and line["duration"] == 0.25
    assert str(line["time"]).endswith("+00:00")


def test_an_exception_is_logged_on_the_same_line(stream: io.StringIO) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("clarion").exception("failed")
    [line] = lines(stream)
    assert "RuntimeError: boom" in str(line["exc_info"])


def test_values_json_cannot_encode_are_logged_as_text(stream: io.StringIO) -> None:
    logging.getLogger("clarion").info("odd", extra={"thing": object()})
    assert str(lines(stream)[0]["thing"]).startswith("<object")


def test_debug_lines_are_dropped_at_info(stream: io.StringIO) -> None:
    logging.getLogger("clarion").debug("noise")
    assert lines(stream) == []


@pytest.mark.parametrize(("value", "shown"), [
    ("+447700900123", "***123"),
    ("someone@example.com", "***com"),
    ("abc", "***"),
    ("", ""),
    (None, ""),
])
def test_a_recipient_keeps_only_its_last_three_characters(value: str | None, shown: str) -> None:
    assert redact_recipient(value) == shown


def test_a_logger_silenced_on_purpose_stays_silent() -> None:
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False  # what uvicorn does without --access-log
    configure_logging("api", stream=io.StringIO())
    assert access.propagate is False
