"""DVLA's letter status callback (reference/notify-brief.md §5.4): the body checked field by field and
read into a `LetterStatusUpdate`, and DVLA's job statuses mapped onto clarion's.

The body is CloudEvents-style JSON:
```
{"id": "...", "time": "<date-time>", "specVersion"?, "type"?, "source"?, "dataContentType"?: "application/json",
 "data": {"jobId": "<uuid>", "jobStatus": "DESPATCHED" | "REJECTED", "transitionDate": "%Y-%m-%dT%H:%M:%SZ",
          "despatchProperties": [{"key": "totalSheets", "value": "2"}, {"key": "postageClass", "value": "2ND"},
                                 {"key": "mailingProduct", "value": "MM"}, ...]},   # required when DESPATCHED
 "metadata": {"correlationId": "..."}}
```
Every problem is reported, each message naming the field and what it must be.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["DVLA_STATUS_MAP", "InvalidLetterCallback", "LetterStatusUpdate", "read_status_callback"]

DVLA_STATUS_MAP: Mapping[str, str] = {"DESPATCHED": "delivered", "REJECTED": "technical-failure"}
POSTAGE_CLASSES = ("1ST", "2ND", "INTERNATIONAL")
MAILING_PRODUCTS = ("UNCODED", "MM UNSORTED", "UNSORTED", "MM", "INT EU", "INT ROW", "UNSORTEDE", "MM ECONOMY")
DESPATCH_KEYS = ("totalSheets", "postageClass", "mailingProduct")
MIN_DESPATCH_PROPERTIES = 3
TRANSITION_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class InvalidLetterCallback(ValueError):
    """The callback body is not what DVLA sends; `messages` says what is wrong, one entry per problem."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class LetterStatusUpdate:
    """What a valid callback says about one print job."""

    job_id: uuid.UUID
    job_status: str  # DVLA's: DESPATCHED or REJECTED
    transition_date: datetime
    total_sheets: int | None  # None when DVLA sent no despatch properties (a rejected job)
    postage_class: str | None
    mailing_product: str | None

    @property
    def new_status(self) -> str:
        """The notification status this callback moves the letter to."""
        return DVLA_STATUS_MAP[self.job_status]


def read_status_callback(body: Any) -> LetterStatusUpdate:
    """The update a callback body describes; InvalidLetterCallback listing every problem otherwise."""
    problems: list[str] = []
    if not isinstance(body, dict):
        raise InvalidLetterCallback(["the body must be a JSON object"])
    _string(body, "id", problems)
    _check_time(body, problems)
    for optional in ("specVersion", "type", "source"):
        if optional in body and not isinstance(body[optional], str):
            problems.append(f"{optional} must be a string")
    if "dataContentType" in body and body["dataContentType"] != "application/json":
        problems.append("dataContentType must be application/json")
    metadata = _object(body, "metadata", problems)
    if metadata is not None:
        _string(metadata, "correlationId", problems, where="metadata.")
    data = _object(body, "data", problems)
    update = _read_data(data, problems) if data is not None else None
    if problems or update is None:
        raise InvalidLetterCallback(problems)
    return update


def _read_data(data: dict[str, Any], problems: list[str]) -> LetterStatusUpdate | None:
    job_id = _job_id(data, problems)
    job_status = data.get("jobStatus")
    if job_status is None:
        problems.append("data.jobStatus is a required property")
    elif job_status not in DVLA_STATUS_MAP:
        problems.append(f"data.jobStatus must be one of {', '.join(DVLA_STATUS_MAP)}")
    transition_date = _transition_date(data, problems)
    despatched = job_status == "DESPATCHED"
    properties = _despatch_properties(data, problems, required=despatched)
    if problems or job_id is None or transition_date is None:
        return None
    sheets = properties.get("totalSheets")
    return LetterStatusUpdate(job_id=job_id, job_status=job_status, transition_date=transition_date,
                              total_sheets=int(sheets) if sheets is not None else None,
                              postage_class=properties.get("postageClass"),
                              mailing_product=properties.get("mailingProduct"))


def _job_id(data: dict[str, Any], problems: list[str]) -> uuid.UUID | None:
    value = _string(data, "jobId", problems, where="data.")
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        problems.append("data.jobId must be a UUID (the notification id the print job was sent with)")
        return None


def _transition_date(data: dict[str, Any], problems: list[str]) -> datetime | None:
    value = _string(data, "transitionDate", problems, where="data.")
    if value is None:
        return None
    try:
        return datetime.strptime(value, TRANSITION_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        problems.append("data.transitionDate must be a UTC time like 2026-01-05T17:30:00Z")
        return None


def _despatch_properties(data: dict[str, Any], problems: list[str], *, required: bool) -> dict[str, Any]:
    """The despatch properties as a dict; checks the three DVLA always sends for a despatched job."""
    items = data.get("despatchProperties")
    if items is None:
        if required:
            problems.append("data.despatchProperties is a required property when data.jobStatus is DESPATCHED")
        return {}
    if not isinstance(items, list) or len(items) < MIN_DESPATCH_PROPERTIES:
        problems.append(f"data.despatchProperties must be a list of at least {MIN_DESPATCH_PROPERTIES} "
                        f"{{\"key\", \"value\"}} objects")
        return {}
    found: dict[str, Any] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) or "value" not in item:
            problems.append(f"data.despatchProperties[{index}] must be an object with a string key and a value")
            continue
        found.setdefault(item["key"], item["value"])
    for key in DESPATCH_KEYS:
        if key not in found:
            if required:
                problems.append(f"data.despatchProperties must include {key}")
            continue
        _check_despatch_value(key, found[key], problems)
    return found


def _check_despatch_value(key: str, value: Any, problems: list[str]) -> None:
    if key == "totalSheets":
        whole = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        if not whole and not (isinstance(value, str) and value.isascii() and value.isdigit()):
            problems.append("data.despatchProperties totalSheets must be a whole number of sheets, like \"2\"")
    elif key == "postageClass" and value not in POSTAGE_CLASSES:
        problems.append(f"data.despatchProperties postageClass must be one of {', '.join(POSTAGE_CLASSES)}")
    elif key == "mailingProduct" and value not in MAILING_PRODUCTS:
        problems.append(f"data.despatchProperties mailingProduct must be one of {', '.join(MAILING_PRODUCTS)}")


def _check_time(body: dict[str, Any], problems: list[str]) -> None:
    value = _string(body, "time", problems)
    if value is None:
        return
    try:
        datetime.fromisoformat(value)
    except ValueError:
        problems.append("time must be a date-time, like 2026-01-05T17:30:00Z")


def _string(container: dict[str, Any], key: str, problems: list[str], *, where: str = "") -> str | None:
    value = container.get(key)
    if value is None:
        problems.append(f"{where}{key} is a required property")
        return None
    if not isinstance(value, str):
        problems.append(f"{where}{key} must be a string")
        return None
    return value


def _object(container: dict[str, Any], key: str, problems: list[str]) -> dict[str, Any] | None:
    value = container.get(key)
    if value is None:
        problems.append(f"{key} is a required property")
        return None
    if not isinstance(value, dict):
        problems.append(f"{key} must be an object")
        return None
    return value
