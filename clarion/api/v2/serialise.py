"""Response bodies, shaped exactly as Notify's API returns them (reference/notify-brief.md §7.4).

Dates use `%Y-%m-%dT%H:%M:%S.%fZ`; every `uri` starts at API_HOST_NAME. Costs are estimates from
the constants below until clarion keeps a rates table; `is_cost_data_ready` says when they apply.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from clarion.api.responses import format_datetime
from clarion.delivery import status as statuses
from clarion.delivery.intake import Accepted, TemplateInfo
from clarion.templates import placeholder_names

__all__ = [
    "notification", "post_response", "received_text", "root_url", "template", "template_preview",
    "template_version",
]

SMS_RATE_POUNDS = 0.0227  # per fragment, before the international multiplier
LETTER_RATES_POUNDS = {"first": 0.95, "second": 0.70, "economy": 0.65, "europe": 1.60, "rest-of-world": 1.60}
LETTER_SHEET_POUNDS = 0.05  # each sheet after the first
POSTAGE_DAYS = {"first": 1, "second": 2, "economy": 4, "europe": 3, "rest-of-world": 5}
PRINT_CUTOFF_HOUR_UTC = 17  # letters accepted after 17:30 are printed the next working day
# Notify's NOTIFICATION_STATUS_TYPES_COMPLETED: the statuses that show `completed_at`. Unlike
# clarion's FINAL set it leaves out virus-scan-failed (and says `failed`, which clarion never stores).
API_COMPLETED = frozenset({
    statuses.SENT, statuses.DELIVERED, "failed", statuses.TECHNICAL_FAILURE, statuses.TEMPORARY_FAILURE,
    statuses.PERMANENT_FAILURE, statuses.RETURNED_LETTER, statuses.CANCELLED, statuses.VALIDATION_FAILED,
})
_KEY_NOISE = str.maketrans("", "", " _-\t\n\r")  # notifications-utils InsensitiveDict: spaces, _ and - ignored


def root_url(host_name: str) -> str:
    """API_HOST_NAME with exactly one trailing slash."""
    return host_name.rstrip("/") + "/"


def _template_ref(root: str, service_id: uuid.UUID, template_id: uuid.UUID, version: int) -> dict[str, Any]:
    return {"id": str(template_id), "version": version, "uri": f"{root}services/{service_id}/templates/{template_id}"}


def post_response(accepted: Accepted, *, root: str) -> dict[str, Any]:
    """The 201 body of a POST /v2/notifications/<type>."""
    row = accepted.row
    return {
        "id": str(row["id"]), "reference": row["client_reference"], "content": accepted.content,
        "uri": f"{root}v2/notifications/{row['id']}",
        "template": _template_ref(root, row["service_id"], row["template_id"], row["template_version"]),
        "scheduled_for": None, **accepted.extra,
    }


def notification(row: Mapping[str, Any], *, root: str) -> dict[str, Any]:
    """GET /v2/notifications/{id}: Notify's `serialize_with_cost_data`."""
    kind, status = row["notification_type"], row["status"]
    body: dict[str, Any] = {
        "id": str(row["id"]), "reference": row["client_reference"],
        "email_address": row["to"] if kind == "email" else None,
        "phone_number": row["to"] if kind == "sms" else None,
        "line_1": None, "line_2": None, "line_3": None, "line_4": None, "line_5": None, "line_6": None,
        "postcode": None, "type": kind, "status": statuses.api_status(kind, status),
        "template": _template_ref(root, row["service_id"], row["template_id"], row["template_version"]),
        "body": row["body"], "subject": row["subject"], "created_at": format_datetime(row["created_at"]),
        "created_by_name": None, "sent_at": format_datetime(row["sent_at"]),
        "completed_at": format_datetime(row["updated_at"] or row["created_at"]) if status in API_COMPLETED else None,
        "scheduled_for": None, "postage": row["postage"],
        "one_click_unsubscribe_url": row["one_click_unsubscribe_url"],
    }
    if kind == "letter":
        body.update(_address(row["personalisation"] or {}))
        body["estimated_delivery"] = format_datetime(estimated_delivery(row["created_at"], row["postage"]))
    body.update(_cost(row))
    return body


def _address(personalisation: Mapping[str, Any]) -> dict[str, Any]:
    values = {str(k).translate(_KEY_NOISE).lower(): v for k, v in personalisation.items()}
    lines = {f"line_{n}": _text(values.get(f"addressline{n}")) for n in range(1, 7)}
    lines["postcode"] = _text(values.get("postcode")) or _text(values.get("addressline7"))
    return lines


def _text(value: Any) -> str | None:
    return None if value is None or str(value).strip() == "" else str(value)


def _cost(row: Mapping[str, Any]) -> dict[str, Any]:
    kind, units = row["notification_type"], row["billable_units"] or 0
    if kind == "email":
        return {"cost_in_pounds": 0.0, "is_cost_data_ready": True, "cost_details": {}}
    if units <= 0:  # billable units are set when the message is handed to a provider
        return {"cost_in_pounds": None, "is_cost_data_ready": False, "cost_details": {}}
    if kind == "sms":
        multiplier = row["rate_multiplier"] or 1.0
        return {"cost_in_pounds": round(units * multiplier * SMS_RATE_POUNDS, 4), "is_cost_data_ready": True,
                "cost_details": {"billable_sms_fragments": units, "international_rate_multiplier": multiplier,
                                 "sms_rate": SMS_RATE_POUNDS}}
    postage = row["postage"] or "second"
    cost = LETTER_RATES_POUNDS.get(postage, LETTER_RATES_POUNDS["second"]) + (units - 1) * LETTER_SHEET_POUNDS
    return {"cost_in_pounds": round(cost, 2), "is_cost_data_ready": True,
            "cost_details": {"billable_sheets_of_paper": units, "postage": postage}}


def estimated_delivery(created_at: datetime, postage: str | None) -> datetime:
    """The earliest day a letter arrives: printed the next working day after the cut-off, then posted."""
    day = created_at.replace(hour=0, minute=0, second=0, microsecond=0)
    if (created_at.hour, created_at.minute) >= (PRINT_CUTOFF_HOUR_UTC, 30):
        day += timedelta(days=1)
    day = _working_day(day)
    for _ in range(POSTAGE_DAYS.get(postage or "second", 2)):
        day = _working_day(day + timedelta(days=1))
    return day.replace(hour=16)


def _working_day(day: datetime) -> datetime:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def template(info: TemplateInfo) -> dict[str, Any]:
    """GET /v2/template/{id}: Notify's `serialize_for_v2`."""
    subject = info.subject if info.template_type in ("email", "letter") else None
    return {
        "id": str(info.id), "type": info.template_type, "created_at": format_datetime(info.created_at),
        "updated_at": format_datetime(info.updated_at), "created_by": info.created_by, "version": info.version,
        "body": info.content, "subject": subject, "name": info.name,
        "personalisation": {name: {"required": True} for name in placeholder_names(subject, info.content)},
        "postage": info.postage, "letter_contact_block": info.letter_contact_block,
    }


def template_preview(info: TemplateInfo, preview: Mapping[str, Any]) -> dict[str, Any]:
    """POST /v2/template/{id}/preview."""
    return {"id": str(info.id), "type": info.template_type, "version": info.version, "body": preview["body"],
            "html": preview.get("html"), "subject": preview.get("subject"), "postage": info.postage}


def template_version(info: TemplateInfo) -> dict[str, Any]:
    """One entry of GET /service/{service_id}/template/{template_id}/versions (Notify's history schema)."""
    return {
        "id": str(info.id), "name": info.name, "template_type": info.template_type,
        "created_at": format_datetime(info.created_at), "updated_at": format_datetime(info.updated_at),
        "content": info.content, "subject": info.subject, "version": info.version,
        "created_by": info.created_by, "archived": info.archived, "service": str(info.service_id),
        "postage": info.postage, "letter_contact_block": info.letter_contact_block,
    }


def received_text(row: Mapping[str, Any]) -> dict[str, Any]:
    """One received text message."""
    return {"id": str(row["id"]), "created_at": format_datetime(row["created_at"]),
            "service_id": str(row["service_id"]), "notify_number": row["notify_number"],
            "user_number": row["user_number"], "content": row["content"]}
