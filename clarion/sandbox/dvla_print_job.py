"""The sandbox DVLA's reading of a print job request: the documented JSON, checked field by field.

```
{"id": "<job id>",
 "standardParams": {"jobType", "templateReference", "businessIdentifier", "recipientName" (<= 255),
                    "address": {exactly one of
                        "unstructuredAddress":  line1 (required) .. line5, postcode (required)
                        "internationalAddress": line1 (required) .. line5, country (required)
                        "bfpoAddress":          line1 (required) .. line4, postcode, bfpoNumber (required)},
                    "despatchMethod": FIRST | ECONOMY | INTERNATIONAL_EU | INTERNATIONAL_ROW (absent: second class)},
 "customParams": [{"key": "pdfContent", "value": <base64 PDF>}, {"key": "serviceIdentifier", "value": ...},
                  {"key": "organisationIdentifier", "value": <string or null>}],
 "callbackParams": {"target": <http(s) URL>, "retryParams": {"enabled": bool, "maxRetryWindow": seconds}}}
```
Address lines are at most 45 characters, a postcode 10 and a country 256. Unknown fields are refused,
as are an international address without an international despatch method and the reverse. Every
problem is reported, as DVLA's `{"errors": [{"detail": ...}, ...]}` does.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pypdf

__all__ = ["PrintJobRefused", "PrintJobRequest", "read_print_job", "sheet_count"]

TOP_LEVEL_KEYS = frozenset({"id", "standardParams", "customParams", "callbackParams"})
STANDARD_TEXT_KEYS = ("jobType", "templateReference", "businessIdentifier", "recipientName")
STANDARD_KEYS = frozenset(STANDARD_TEXT_KEYS) | {"address", "despatchMethod"}
DESPATCH_METHODS = ("FIRST", "ECONOMY", "INTERNATIONAL_EU", "INTERNATIONAL_ROW")
INTERNATIONAL_METHODS = frozenset({"INTERNATIONAL_EU", "INTERNATIONAL_ROW"})
LINES = ("line1", "line2", "line3", "line4", "line5")
ADDRESS_SHAPES: dict[str, tuple[frozenset[str], frozenset[str]]] = {  # shape -> (required, allowed)
    "unstructuredAddress": (frozenset({"line1", "postcode"}), frozenset(LINES) | {"postcode"}),
    "internationalAddress": (frozenset({"line1", "country"}), frozenset(LINES) | {"country"}),
    "bfpoAddress": (frozenset({"line1", "bfpoNumber"}), frozenset(LINES[:4]) | {"postcode", "bfpoNumber"}),
}
MAX_LENGTHS = {"postcode": 10, "country": 256, "recipientName": 255}
LINE_MAX_LENGTH = 45
CUSTOM_KEYS = frozenset({"pdfContent", "organisationIdentifier", "serviceIdentifier"})


class PrintJobRefused(ValueError):
    """A print job DVLA would refuse; `details` has one entry per problem."""

    def __init__(self, details: list[str]) -> None:
        super().__init__("; ".join(details))
        self.details = details


@dataclass(frozen=True)
class PrintJobRequest:
    """What the sandbox needs from an accepted print job."""

    job_id: str
    despatch_method: str | None
    pdf: bytes
    callback_url: str | None


def read_print_job(body: Any) -> PrintJobRequest:
    """The print job in a request body; PrintJobRefused listing every problem otherwise."""
    if not isinstance(body, dict):
        raise PrintJobRefused(["the request body must be a JSON object"])
    problems = [f"{key}: unknown field" for key in sorted(set(body) - TOP_LEVEL_KEYS)]
    job_id = _text(body, "id", "id", problems)
    despatch_method = _standard_params(body.get("standardParams"), problems)
    pdf = _custom_params(body.get("customParams"), problems)
    callback_url = _callback_params(body.get("callbackParams"), problems)
    if problems or job_id is None or pdf is None:
        raise PrintJobRefused(problems)
    return PrintJobRequest(job_id=job_id, despatch_method=despatch_method, pdf=pdf, callback_url=callback_url)


def sheet_count(pdf: bytes) -> int:
    """Sheets of paper a double-sided print of `pdf` takes; PrintJobRefused if it cannot be read."""
    try:
        pages = len(pypdf.PdfReader(io.BytesIO(pdf)).pages)
    except Exception:  # noqa: BLE001 - pypdf raises many kinds of error for a damaged file
        raise PrintJobRefused(["customParams.pdfContent: the PDF cannot be read"]) from None
    if pages == 0:
        raise PrintJobRefused(["customParams.pdfContent: the PDF has no pages"])
    return math.ceil(pages / 2)


def _standard_params(params: Any, problems: list[str]) -> str | None:
    if not isinstance(params, dict):
        problems.append("standardParams: required, an object")
        return None
    problems.extend(f"standardParams.{key}: unknown field" for key in sorted(set(params) - STANDARD_KEYS))
    for key in STANDARD_TEXT_KEYS:
        _text(params, key, f"standardParams.{key}", problems)
    method = params.get("despatchMethod")
    if method is not None and method not in DESPATCH_METHODS:
        problems.append(f"standardParams.despatchMethod: must be one of {', '.join(DESPATCH_METHODS)} "
                        "(leave it out for second class)")
    shape = _address(params.get("address"), problems)
    if shape is not None and (shape == "internationalAddress") != (method in INTERNATIONAL_METHODS):
        problems.append("standardParams: an internationalAddress goes with an INTERNATIONAL_EU or "
                        "INTERNATIONAL_ROW despatchMethod, and only with one")
    return method if isinstance(method, str) else None


def _address(address: Any, problems: list[str]) -> str | None:
    where = "standardParams.address"
    if not isinstance(address, dict) or len(address) != 1 or next(iter(address)) not in ADDRESS_SHAPES:
        problems.append(f"{where}: must hold exactly one of {', '.join(ADDRESS_SHAPES)}")
        return None
    [(shape, fields)] = address.items()
    where = f"{where}.{shape}"
    if not isinstance(fields, dict):
        problems.append(f"{where}: must be an object")
        return None
    required, allowed = ADDRESS_SHAPES[shape]
    problems.extend(f"{where}.{key}: unknown field" for key in sorted(set(fields) - allowed))
    problems.extend(f"{where}.{key}: required" for key in sorted(required - set(fields)))
    for key, value in fields.items():
        if key == "bfpoNumber":
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                problems.append(f"{where}.bfpoNumber: must be a positive whole number")
        elif key in allowed:
            _text(fields, key, f"{where}.{key}", problems)
    return shape


def _custom_params(params: Any, problems: list[str]) -> bytes | None:
    if not isinstance(params, list):
        problems.append("customParams: required, a list of {key, value} objects")
        return None
    values: dict[str, Any] = {}
    for index, item in enumerate(params):
        if not isinstance(item, dict) or set(item) != {"key", "value"} or item["key"] not in CUSTOM_KEYS:
            problems.append(f"customParams[{index}]: must be {{\"key\", \"value\"}} with key one of "
                            f"{', '.join(sorted(CUSTOM_KEYS))}")
            continue
        if item["key"] in values:
            problems.append(f"customParams[{index}]: {item['key']} given twice")
        values[item["key"]] = item["value"]
    if not isinstance(values.get("serviceIdentifier"), str) or not values["serviceIdentifier"]:
        problems.append("customParams.serviceIdentifier: required, a string")
    organisation = values.get("organisationIdentifier")
    if organisation is not None and not isinstance(organisation, str):
        problems.append("customParams.organisationIdentifier: must be a string or null")
    return _pdf(values.get("pdfContent"), problems)


def _pdf(content: Any, problems: list[str]) -> bytes | None:
    if not isinstance(content, str) or not content:
        problems.append("customParams.pdfContent: required, the PDF in base64")
        return None
    try:
        pdf = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        problems.append("customParams.pdfContent: must be base64")
        return None
    if not pdf.startswith(b"%PDF-"):
        problems.append("customParams.pdfContent: is not a PDF")
        return None
    return pdf


def _callback_params(params: Any, problems: list[str]) -> str | None:
    if params is None:
        return None  # DVLA then has nowhere to report the job's progress; allowed, if unwise
    if not isinstance(params, dict) or set(params) - {"target", "retryParams"}:
        problems.append("callbackParams: must be an object with target and retryParams")
        return None
    target = params.get("target")
    parts = urlsplit(target) if isinstance(target, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append("callbackParams.target: required, an absolute http(s) URL")
        target = None
    retry = params.get("retryParams")
    if retry is not None:
        window = retry.get("maxRetryWindow") if isinstance(retry, dict) else None
        if (not isinstance(retry, dict) or not isinstance(retry.get("enabled"), bool)
                or isinstance(window, bool) or not isinstance(window, int) or window <= 0):
            problems.append("callbackParams.retryParams: must be {\"enabled\": true|false, "
                            "\"maxRetryWindow\": <seconds>}")
    return target


def _text(container: dict[str, Any], key: str, where: str, problems: list[str]) -> str | None:
    value = container.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: required, a non-empty string")
        return None
    limit = MAX_LENGTHS.get(key, LINE_MAX_LENGTH if where.startswith("standardParams.address") else None)
    if limit is not None and len(value) > limit:
        problems.append(f"{where}: at most {limit} characters")
    return value
