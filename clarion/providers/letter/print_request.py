"""The body of DVLA's `POST /print-request/v1/print/jobs` for one letter (reference/notify-brief.md §1.5).

```
{"id": <notification id>,
 "standardParams": {"jobType": "NOTIFY", "templateReference": "NOTIFY", "businessIdentifier": <reference>,
                    "recipientName": <first address line>, "address": {<one of the three shapes>},
                    "despatchMethod": <FIRST | ECONOMY | INTERNATIONAL_EU | INTERNATIONAL_ROW; absent for second>},
 "customParams": [{"key": "pdfContent", "value": <base64 PDF>},
                  {"key": "organisationIdentifier", "value": <organisation id or null>},
                  {"key": "serviceIdentifier", "value": <service id>}],
 "callbackParams": {"target": <callback URL>, "retryParams": {"enabled": true, "maxRetryWindow": 10800}}}
```
"""

from __future__ import annotations

import base64
from typing import Any

from clarion.providers.letter import addresses, despatch
from clarion.providers.letter.client import PrintJob

__all__ = ["CALLBACK_RETRY_WINDOW_S", "print_job_request"]

JOB_TYPE = TEMPLATE_REFERENCE = "NOTIFY"
CALLBACK_RETRY_WINDOW_S = 10_800  # DVLA keeps retrying a callback we did not accept for 3 hours


def print_job_request(job: PrintJob, pdf: bytes, *, callback_target: str) -> dict[str, Any]:
    """The print job JSON; raises InvalidPrintAddress or UnknownPostage when the letter cannot be described."""
    recipient, address = addresses.print_address(job.address_lines, job.postage)
    standard: dict[str, Any] = {
        "jobType": JOB_TYPE,
        "templateReference": TEMPLATE_REFERENCE,
        "businessIdentifier": job.reference,
        "recipientName": recipient,
        "address": address,
    }
    method = despatch.despatch_method(job.postage)
    if method is not None:
        standard["despatchMethod"] = method
    return {
        "id": job.notification_id,
        "standardParams": standard,
        "customParams": [
            {"key": "pdfContent", "value": base64.b64encode(pdf).decode("ascii")},
            {"key": "organisationIdentifier", "value": job.organisation_id},
            {"key": "serviceIdentifier", "value": job.service_id},
        ],
        "callbackParams": {
            "target": callback_target,
            "retryParams": {"enabled": True, "maxRetryWindow": CALLBACK_RETRY_WINDOW_S},
        },
    }
