"""Requests as clarion's provider clients send them, for the sandbox tests: MMG JSON, Firetext forms, boto3 SESv2."""

from __future__ import annotations

import json
from typing import Any

import boto3
import httpx
from botocore.config import Config

from clarion.sandbox import firetext, mmg
from tests.unit.sandbox.harness import RunningSandbox

MMG_API_KEY = "mmg-test-key"
MMG_NOTIFICATION_ID = "6ad0a0c1-6f6b-4f1e-9a43-0b3f8f0a1c11"
FIRETEXT_NOTIFICATION_ID = "0f7e4f5e-2a57-4ac9-8e0e-5d8a0d6d7b21"


def mmg_message(**overrides: Any) -> dict[str, Any]:
    body = {"reqType": "BULK", "MSISDN": "447700900123", "msg": "Your code is 123456", "sender": "CLARION",
            "cid": MMG_NOTIFICATION_ID, "multi": True}
    body.update(overrides)
    return body


def send_mmg(sandbox: RunningSandbox, body: Any, *, api_key: str | None = MMG_API_KEY) -> httpx.Response:
    headers = {"Authorization": f"Basic {api_key}"} if api_key is not None else {}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return sandbox.http.post(mmg.PATH, content=content, headers={"Content-Type": "application/json", **headers})


def firetext_fields(**overrides: Any) -> dict[str, Any]:
    form = {"apiKey": "firetext-test-key", "from": "CLARION", "to": "447700900123", "message": "Hello",
            "reference": FIRETEXT_NOTIFICATION_ID}
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def send_firetext(sandbox: RunningSandbox, form: dict[str, Any]) -> httpx.Response:
    return sandbox.http.post(firetext.PATH, data=form)


def sesv2(sandbox: RunningSandbox) -> Any:
    """boto3's SESv2 client pointed at the sandbox, as clarion builds it (one attempt per call)."""
    return boto3.session.Session().client(
        "sesv2", region_name="eu-west-1", endpoint_url=sandbox.url, aws_access_key_id="AKIASANDBOX",
        aws_secret_access_key="sandbox-secret", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))


def send_email(sandbox: RunningSandbox, to: str = "someone@example.com", **overrides: Any) -> str:
    params: dict[str, Any] = {
        "FromEmailAddress": '"Clarion Service" <service@notifications.clarion.local>',
        "Destination": {"ToAddresses": [to], "CcAddresses": [], "BccAddresses": []},
        "Content": {"Simple": {"Subject": {"Data": "Your reference"},
                               "Body": {"Text": {"Data": "Hello"}, "Html": {"Data": "<p>Hello</p>"}},
                               "Headers": [{"Name": "X-Clarion-Id", "Value": "42"}]}},
        "ReplyToAddresses": []}
    params.update(overrides)
    return sesv2(sandbox).send_email(**params)["MessageId"]
