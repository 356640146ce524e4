"""Reading DVLA's status callback body: what is accepted, and what each refusal says."""

from __future__ import annotations

import uuid
from copy import deepcopy
from datetime import UTC, datetime
from typing import Any

import pytest

from clarion.delivery.status import ALL_STATUSES
from clarion.providers.letter.status_callback import (
    DVLA_STATUS_MAP,
    InvalidLetterCallback,
    read_status_callback,
)
from tests.unit.letters_dvla.callbacks import despatch_properties, status_callback

JOB = uuid.UUID("5f3c6a8e-1d2b-4c3a-9e8f-7a6b5c4d3e2f")


def test_a_despatch_callback_is_read_into_an_update() -> None:
    update = read_status_callback(status_callback(JOB))
    assert update.job_id == JOB
    assert (update.job_status, update.new_status) == ("DESPATCHED", "delivered")
    assert update.transition_date == datetime(2026, 1, 5, 17, 30, tzinfo=UTC)
    assert (update.total_sheets, update.postage_class, update.mailing_product) == (2, "2ND", "MM")


def test_a_rejection_needs_no_despatch_properties() -> None:
    update = read_status_callback(status_callback(JOB, "REJECTED"))
    assert (update.new_status, update.total_sheets) == ("technical-failure", None)


def test_every_dvla_status_maps_to_a_status_clarion_knows() -> None:
    assert set(DVLA_STATUS_MAP) == {"DESPATCHED", "REJECTED"}
    assert set(DVLA_STATUS_MAP.values()) <= ALL_STATUSES


def test_optional_cloudevents_fields_may_be_left_out() -> None:
    body = status_callback(JOB)
    for optional in ("specVersion", "type", "source", "dataContentType"):
        del body[optional]
    assert read_status_callback(body).job_id == JOB


def test_a_whole_number_of_sheets_may_come_as_a_number() -> None:
    update = read_status_callback(status_callback(JOB, despatchProperties=despatch_properties(sheets=3)))
    assert update.total_sheets == 3


def broken(change: Any) -> dict[str, Any]:
    body = deepcopy(status_callback(JOB))
    change(body)
    return body


@pytest.mark.parametrize(("body", "message"), [
    ([], "the body must be a JSON object"),
    (broken(lambda b: b.pop("id")), "id is a required property"),
    (broken(lambda b: b.update(id=7)), "id must be a string"),
    (broken(lambda b: b.pop("time")), "time is a required property"),
    (broken(lambda b: b.update(time="yesterday")), "time must be a date-time, like 2026-01-05T17:30:00Z"),
    (broken(lambda b: b.update(dataContentType="text/xml")), "dataContentType must be application/json"),
    (broken(lambda b: b.update(source=1)), "source must be a string"),
    (broken(lambda b: b.pop("metadata")), "metadata is a required property"),
    (broken(lambda b: b["metadata"].pop("correlationId")), "metadata.correlationId is a required property"),
    (broken(lambda b: b.pop("data")), "data is a required property"),
    (broken(lambda b: b.update(data="x")), "data must be an object"),
    (broken(lambda b: b["data"].pop("jobId")), "data.jobId is a required property"),
    (broken(lambda b: b["data"].update(jobId="letter-1")),
     "data.jobId must be a UUID (the notification id the print job was sent with)"),
    (broken(lambda b: b["data"].pop("jobStatus")), "data.jobStatus is a required property"),
    (broken(lambda b: b["data"].update(jobStatus="PRINTED")), "data.jobStatus must be one of DESPATCHED, REJECTED"),
    (broken(lambda b: b["data"].pop("transitionDate")), "data.transitionDate is a required property"),
    (broken(lambda b: b["data"].update(transitionDate="2026-01-05 17:30:00")),
     "data.transitionDate must be a UTC time like 2026-01-05T17:30:00Z"),
    (broken(lambda b: b["data"].pop("despatchProperties")),
     "data.despatchProperties is a required property when data.jobStatus is DESPATCHED"),
    (broken(lambda b: b["data"].update(despatchProperties=despatch_properties()[:2])),
     'data.despatchProperties must be a list of at least 3 {"key", "value"} objects'),
    (broken(lambda b: b["data"]["despatchProperties"].__setitem__(0, {"key": "other", "value": "x"})),
     "data.despatchProperties must include totalSheets"),
    (broken(lambda b: b["data"]["despatchProperties"].__setitem__(3, "productionRunDate")),
     'data.despatchProperties[3] must be an object with a string key and a value'),
    (broken(lambda b: b["data"].update(despatchProperties=despatch_properties(sheets="two"))),
     'data.despatchProperties totalSheets must be a whole number of sheets, like "2"'),
    (broken(lambda b: b["data"].update(despatchProperties=despatch_properties(postage="3RD"))),
     "data.despatchProperties postageClass must be one of 1ST, 2ND, INTERNATIONAL"),
    (broken(lambda b: b["data"].update(despatchProperties=despatch_properties(product="PIGEON"))),
     "data.despatchProperties mailingProduct must be one of UNCODED, MM UNSORTED, UNSORTED, MM, INT EU, "
     "INT ROW, UNSORTEDE, MM ECONOMY"),
])
def test_a_body_dvla_would_not_send_is_refused_with_what_to_fix(body: Any, message: str) -> None:
    with pytest.raises(InvalidLetterCallback) as raised:
        read_status_callback(body)
    assert raised.value.messages == [message]


def test_every_problem_is_reported_at_once() -> None:
    body = broken(lambda b: (b.pop("id"), b["data"].update(jobStatus="LOST"), b["metadata"].clear()))
    with pytest.raises(InvalidLetterCallback) as raised:
        read_status_callback(body)
    assert raised.value.messages == ["id is a required property", "metadata.correlationId is a required property",
                                     "data.jobStatus must be one of DESPATCHED, REJECTED"]
