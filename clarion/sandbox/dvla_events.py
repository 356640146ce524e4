"""The status callback the sandbox DVLA posts to a print job's `callbackParams.target`.

CloudEvents-style JSON, as DVLA sends it:
```
{"specVersion": "1.0", "type": "...PrintJobStatus", "source": "...", "id": "<event uuid>", "time": "<ISO, Z>",
 "dataContentType": "application/json",
 "data": {"jobId": "<the print job id>", "jobType": "NOTIFY", "templateReference": "NOTIFY",
          "jobStatus": "DESPATCHED" | "REJECTED", "transitionDate": "%Y-%m-%dT%H:%M:%SZ",
          "despatchProperties": [{"key": "totalSheets", "value": "<n>"}, {"key": "postageClass", "value": ...},
                                 {"key": "mailingProduct", "value": ...},
                                 {"key": "productionRunDate", "value": "%Y-%m-%d %H:%M:%S.mmm" (London)}]},
 "metadata": {"correlationId": "<uuid>", "handler": {"urn": ...}, "origin": {"urn": ...}}}
```
A rejected job has no despatch properties. The postage class and mailing product follow the job's
despatch method: first class is 1ST / UNCODED, second 2ND / MM, economy 2ND / MM ECONOMY, Europe
INTERNATIONAL / INT EU, rest of the world INTERNATIONAL / INT ROW.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import orjson

__all__ = ["DESPATCHED", "REJECTED", "POSTAGE", "status_event"]

DESPATCHED, REJECTED = "DESPATCHED", "REJECTED"
POSTAGE: dict[str | None, tuple[str, str]] = {  # despatchMethod -> (postageClass, mailingProduct)
    None: ("2ND", "MM"),
    "FIRST": ("1ST", "UNCODED"),
    "ECONOMY": ("2ND", "MM ECONOMY"),
    "INTERNATIONAL_EU": ("INTERNATIONAL", "INT EU"),
    "INTERNATIONAL_ROW": ("INTERNATIONAL", "INT ROW"),
}
EVENT_TYPE = "uk.gov.dvla.osl.print.v1.PrintJobStatus"
SOURCE = "dvla:resource:osl:print:print-hub-fulfilment:clarion-sandbox"
HANDLER_URN = "dvla:resource:osg:sandbox:printhub:1.0.0"
LONDON = ZoneInfo("Europe/London")


def status_event(*, job_id: str, job_status: str, at: datetime, total_sheets: int, despatch_method: str | None,
                 event_id: uuid.UUID, correlation_id: uuid.UUID) -> bytes:
    """The callback body reporting that job `job_id` reached `job_status` at `at`."""
    data: dict[str, object] = {"jobId": job_id, "jobType": "NOTIFY", "templateReference": "NOTIFY",
                               "jobStatus": job_status,
                               "transitionDate": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if job_status == DESPATCHED:
        postage_class, mailing_product = POSTAGE[despatch_method]
        data["despatchProperties"] = [
            {"key": "totalSheets", "value": str(total_sheets)},
            {"key": "postageClass", "value": postage_class},
            {"key": "mailingProduct", "value": mailing_product},
            {"key": "productionRunDate", "value": at.astimezone(LONDON).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]},
        ]
    return orjson.dumps({
        "specVersion": "1.0", "type": EVENT_TYPE, "source": SOURCE, "id": str(event_id),
        "time": at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "dataContentType": "application/json", "data": data,
        "metadata": {"correlationId": str(correlation_id), "handler": {"urn": HANDLER_URN},
                     "origin": {"urn": HANDLER_URN}},
    })
