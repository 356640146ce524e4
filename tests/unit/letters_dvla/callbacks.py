"""DVLA status callback bodies as DVLA sends them, for the endpoint and validation tests."""

from __future__ import annotations

import uuid
from typing import Any


def despatch_properties(sheets: Any = "2", postage: str = "2ND", product: str = "MM") -> list[dict[str, Any]]:
    """The despatch properties of a despatched job."""
    return [{"key": "totalSheets", "value": sheets}, {"key": "postageClass", "value": postage},
            {"key": "mailingProduct", "value": product},
            {"key": "productionRunDate", "value": "2026-01-05 17:30:00.000"}]


def status_callback(job_id: uuid.UUID | str, job_status: str = "DESPATCHED", **data: Any) -> dict[str, Any]:
    """A CloudEvents-style status callback for one print job."""
    body: dict[str, Any] = {
        "specVersion": "1.0",
        "type": "uk.gov.dvla.osl.print.v1.PrintJobStatus",
        "source": "dvla:resource:osl:print:print-hub-fulfilment",
        "id": "4a1f7c62-0b3e-4d9a-8f5c-2e6d1b0a9c8e",
        "time": "2026-01-05T17:30:01.123Z",
        "dataContentType": "application/json",
        "data": {
            "jobId": str(job_id),
            "jobType": "NOTIFY",
            "jobStatus": job_status,
            "templateReference": "NOTIFY",
            "transitionDate": "2026-01-05T17:30:00Z",
        },
        "metadata": {"correlationId": "b7e3f0a2-6c1d-4e8b-9a5f-3d2c1b0e9f8a"},
    }
    if job_status == "DESPATCHED":
        body["data"]["despatchProperties"] = despatch_properties()
    body["data"].update(data)
    return body
