"""JSON-lines logging to stderr for every clarion process, and the redaction of recipients in logs.

One line per event: `time`, `level`, `logger`, `message`, `process`, plus any `extra` keys the caller
passes (`notification_id`, `provider_name`, `duration`, ...). Phone numbers and email addresses are
never logged in full: pass them through `redact_recipient` first.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

__all__ = ["JsonFormatter", "configure_logging", "redact_recipient"]

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "taskName",
    "color_message",  # uvicorn's copy of the message with terminal colours
}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object on one line."""

    def __init__(self, process_name: str) -> None:
        super().__init__()
        self.process_name = process_name

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line, `extra` keys included."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": self.process_name,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure_logging(process_name: str, level: str = "INFO", *, stream: TextIO | None = None) -> None:
    """Send every log record of this process to stderr as JSON lines tagged with `process_name`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(process_name))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # warnings become JSON lines too
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "celery"):
        logger = logging.getLogger(name)
        if logger.handlers or logger.propagate:
            # Let it reach the root handler instead of printing in its own format.
            logger.handlers.clear()
            logger.propagate = True
        # else it was silenced on purpose (uvicorn's access log without --access-log): keep it so


def redact_recipient(value: str | None) -> str:
    """A phone number or email address reduced to its last 3 characters, safe to log."""
    if not value:
        return ""
    return "***" + value[-3:] if len(value) > 3 else "***"
