"""The official notifications-python-client, unmodified, against clarion over a loopback socket."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import jwt
import pytest
import requests
from notifications_python_client.errors import HTTPError

from clarion.db.models import Service
from tests.contract.conftest import LiveApi

PHONE = "07700 900123"


def errors_of(excinfo: pytest.ExceptionInfo[HTTPError]) -> tuple[int, list[dict[str, str]]]:
    return excinfo.value.status_code, excinfo.value.message


def test_a_text_is_accepted_and_read_back_by_id_and_in_the_list(live_api: LiveApi) -> None:
    client = live_api.client()
    template = live_api.seeded.templates["sms"]

    sent = client.send_sms_notification(PHONE, str(template.id), personalisation={"name": "Ada", "code": "123"},
                                        reference="ref-1")

    assert sent["content"]["body"] == "Test service: Hello Ada, your code is 123"
    assert sent["reference"] == "ref-1"
    assert sent["uri"] == f"{live_api.url}/v2/notifications/{sent['id']}"
    assert sent["template"] == {"id": str(template.id), "version": 1,
                                "uri": f"{live_api.url}/services/{live_api.seeded.service.id}/templates/{template.id}"}
    fetched = client.get_notification_by_id(sent["id"])
    assert fetched["id"] == sent["id"]
    assert fetched["type"] == "sms"
    assert fetched["phone_number"] == PHONE
    assert fetched["status"] in {"created", "sending", "delivered"}
    assert fetched["body"] == "Test service: Hello Ada, your code is 123"
    assert fetched["created_at"].endswith("Z")
    listed = client.get_all_notifications(template_type="sms")
    assert [n["id"] for n in listed["notifications"]] == [sent["id"]]
    assert listed["links"]["current"].startswith(f"{live_api.url}/v2/notifications")


def test_an_email_is_accepted_and_read_back(live_api: LiveApi) -> None:
    client = live_api.client()
    template = live_api.seeded.templates["email"]

    sent = client.send_email_notification("someone@example.com", str(template.id), personalisation={"name": "Ada"})

    assert sent["content"]["subject"] == "Hello Ada"
    assert "Dear Ada" in sent["content"]["body"]
    assert sent["content"]["from_email"].endswith("@notifications.clarion.local")
    fetched = client.get_notification_by_id(sent["id"])
    assert fetched["email_address"] == "someone@example.com"
    assert fetched["subject"] == "Hello Ada"


def test_templates_are_listed_read_by_version_and_previewed(live_api: LiveApi) -> None:
    client = live_api.client()
    sms = live_api.seeded.templates["sms"]

    assert client.get_template(str(sms.id))["body"] == "Hello ((name)), your code is ((code))"
    assert client.get_template_version(str(sms.id), 1)["version"] == 1
    assert {t["type"] for t in client.get_all_templates()["templates"]} == {"sms", "email", "letter"}
    assert [t["type"] for t in client.get_all_templates("email")["templates"]] == ["email"]
    preview = client.post_template_preview(str(sms.id), {"name": "Ada", "code": "9"})
    assert preview["body"] == "Hello Ada, your code is 9"
    assert preview["type"] == "sms"
    versions = client.get_all_template_versions(str(sms.id))
    assert [v["version"] for v in versions["data"]] == [1]


def test_received_texts_start_empty(live_api: LiveApi) -> None:
    assert live_api.client().get_received_texts()["received_text_messages"] == []


def test_a_wrong_secret_is_refused(live_api: LiveApi) -> None:
    key = live_api.seeded.api_keys["normal"]
    wrong = key[:-36] + str(uuid.uuid4())
    with pytest.raises(HTTPError) as excinfo:
        type(live_api.client())(wrong, base_url=live_api.url).get_all_templates()
    assert errors_of(excinfo) == (403, [{"error": "AuthError", "message": "Invalid token: API key not found"}])


def test_a_token_older_than_30_seconds_is_refused(live_api: LiveApi) -> None:
    live_api.clock.offset = timedelta(seconds=45)
    with pytest.raises(HTTPError) as excinfo:
        live_api.client().get_all_templates()
    assert errors_of(excinfo) == (
        403, [{"error": "AuthError", "message": "Error: Your system clock must be accurate to within 30 seconds"}])


def test_a_token_not_signed_with_hs256_is_refused(live_api: LiveApi) -> None:
    key = live_api.seeded.api_keys["normal"]
    token = jwt.encode({"iss": key[-73:-37], "iat": int(time.time())}, key[-36:], algorithm="HS512")
    reply = requests.get(f"{live_api.url}/v2/templates", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert reply.status_code == 403
    assert reply.json() == {"status_code": 403, "errors": [
        {"error": "AuthError", "message": "Invalid token: algorithm used is not HS256"}]}


def test_missing_fields_are_named(live_api: LiveApi) -> None:
    with pytest.raises(HTTPError) as excinfo:
        live_api.client().post("/v2/notifications/sms", {})
    status, errors = errors_of(excinfo)
    assert status == 400
    assert {"error": "ValidationError", "message": "phone_number is a required property"} in errors
    assert {"error": "ValidationError", "message": "template_id is a required property"} in errors


def test_an_invalid_phone_number_is_refused(live_api: LiveApi) -> None:
    with pytest.raises(HTTPError) as excinfo:
        live_api.client().send_sms_notification("0770090012", str(live_api.seeded.templates["sms"].id),
                                                personalisation={"name": "a", "code": "b"})
    status, errors = errors_of(excinfo)
    assert status == 400
    assert errors[0]["error"] == "ValidationError"
    assert errors[0]["message"].startswith("phone_number ")


def test_missing_personalisation_is_named(live_api: LiveApi) -> None:
    with pytest.raises(HTTPError) as excinfo:
        live_api.client().send_sms_notification(PHONE, str(live_api.seeded.templates["sms"].id),
                                                personalisation={"name": "Ada"})
    assert errors_of(excinfo) == (400, [{"error": "BadRequestError", "message": "Missing personalisation: code"}])


def test_an_unknown_template_is_refused(live_api: LiveApi) -> None:
    with pytest.raises(HTTPError) as excinfo:
        live_api.client().send_sms_notification(PHONE, str(uuid.uuid4()))
    assert errors_of(excinfo) == (400, [{"error": "BadRequestError", "message": "Template not found"}])


def test_a_trial_mode_service_cannot_send_to_strangers(live_api: LiveApi) -> None:
    with live_api.sessions.begin() as session:
        session.get(Service, live_api.seeded.service.id).restricted = True
    live_api.clock.expire_caches()  # the API caches a service for CACHE_TTL_S (2 s)
    with pytest.raises(HTTPError) as excinfo:
        live_api.client().send_sms_notification(PHONE, str(live_api.seeded.templates["sms"].id),
                                                personalisation={"name": "a", "code": "b"})
    assert errors_of(excinfo) == (400, [{"error": "BadRequestError", "message":
        "Can’t send to this recipient when service is in trial mode – see "
        "https://www.notifications.service.gov.uk/trial-mode"}])


def test_an_exceeded_rate_limit_gets_429(live_api: LiveApi) -> None:
    with live_api.sessions.begin() as session:
        session.get(Service, live_api.seeded.service.id).rate_limit = 3  # bucket of min(ceil(3/3)+1, 1000) = 2
    live_api.clock.expire_caches()
    client = live_api.client()
    template_id = str(live_api.seeded.templates["sms"].id)
    with pytest.raises(HTTPError) as excinfo:
        for _ in range(3):
            client.send_sms_notification(PHONE, template_id, personalisation={"name": "a", "code": "b"})
    assert errors_of(excinfo) == (429, [{"error": "RateLimitError", "message":
        "Exceeded rate limit for key type LIVE of 3 requests per 60 seconds"}])
