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


LETTER_ADDRESS = {"address_line_1": "Ann Example", "address_line_2": "1 High Street", "address_line_3": "SW1A 1AA"}
NOTIFICATION_KEYS = {"id", "reference", "email_address", "phone_number", "line_1", "line_2", "line_3", "line_4",
                     "line_5", "line_6", "postcode", "type", "status", "template", "body", "subject", "created_at",
                     "created_by_name", "sent_at", "completed_at", "scheduled_for", "postage",
                     "one_click_unsubscribe_url", "cost_in_pounds", "is_cost_data_ready", "cost_details"}


@pytest.mark.live_settings(api_page_size=2)
def test_the_notifications_iterator_follows_next_links_over_several_pages(live_api: LiveApi) -> None:
    client = live_api.client()
    template_id = str(live_api.seeded.templates["sms"].id)
    sent = [client.send_sms_notification(PHONE, template_id, personalisation={"name": "a", "code": str(n)})["id"]
            for n in range(5)]
    first_page = client.get_all_notifications()
    assert len(first_page["notifications"]) == 2
    assert first_page["links"]["next"] == (
        f"{live_api.url}/v2/notifications?older_than={first_page['notifications'][-1]['id']}")

    seen = [n["id"] for n in client.get_all_notifications_iterator()]

    assert sorted(seen) == sorted(sent) and len(seen) == 5
    assert [n["id"] for n in client.get_all_notifications_iterator(template_type="email")] == []
    assert len(list(client.get_all_notifications_iterator(status="created", template_type="sms"))) == 5


@pytest.mark.live_settings(api_page_size=2)
def test_the_received_texts_iterator_follows_next_links(live_api: LiveApi) -> None:
    from clarion.db.models import InboundSms
    ids = [uuid.uuid4() for _ in range(5)]
    start = live_api.clock.now()
    with live_api.sessions.begin() as session:
        for n, inbound_id in enumerate(ids):
            session.add(InboundSms(id=inbound_id, service_id=live_api.seeded.service.id, notify_number="07700900999",
                                   user_number="447700900123", content=f"reply {n}",
                                   created_at=start + timedelta(seconds=n)))
    client = live_api.client()

    page = client.get_received_texts()
    texts = list(client.get_received_texts_iterator())

    assert [t["id"] for t in page["received_text_messages"]] == [str(ids[4]), str(ids[3])]
    assert page["links"] == {"current": f"{live_api.url}/v2/received-text-messages",
                             "next": f"{live_api.url}/v2/received-text-messages?older_than={ids[3]}"}
    assert [t["id"] for t in texts] == [str(i) for i in reversed(ids)]
    assert set(texts[0]) == {"id", "created_at", "service_id", "notify_number", "user_number", "content"}
    assert texts[0]["created_at"].endswith("Z")
    assert [t["id"] for t in client.get_received_texts_iterator(older_than=str(ids[1]))] == [str(ids[0])]


def test_a_letter_is_sent_read_back_and_its_pdf_is_not_ready(live_api: LiveApi) -> None:
    client = live_api.client()
    template = live_api.seeded.templates["letter"]

    sent = client.send_letter_notification(str(template.id), {"name": "Ann", **LETTER_ADDRESS}, reference="l-1")

    assert sent["content"] == {"body": "Dear Ann", "subject": "Your letter"}
    assert (sent["reference"], sent["scheduled_for"]) == ("l-1", None)
    fetched = client.get_notification_by_id(sent["id"])
    assert set(fetched) == NOTIFICATION_KEYS | {"estimated_delivery"}
    assert (fetched["type"], fetched["status"], fetched["line_1"], fetched["line_3"], fetched["postage"]) == (
        "letter", "accepted", "Ann Example", "SW1A 1AA", "second")
    with pytest.raises(HTTPError) as excinfo:
        client.get_pdf_for_letter(sent["id"])
    assert errors_of(excinfo) == (400, [{"error": "PDFNotReadyError",
                                         "message": "PDF not available yet, try again later"}])
    with pytest.raises(HTTPError) as excinfo:
        client.get_pdf_for_letter(str(uuid.uuid4()))
    assert errors_of(excinfo) == (404, [{"error": "NoResultFound", "message": "No result found"}])


def test_a_letter_without_enough_address_is_refused(live_api: LiveApi) -> None:
    with pytest.raises(HTTPError) as excinfo:
        live_api.client().send_letter_notification(str(live_api.seeded.templates["letter"].id),
                                                   {"name": "Ann", "address_line_1": "Ann"})
    assert errors_of(excinfo) == (400, [{"error": "ValidationError", "message": "Address must be at least 3 lines"}])


def test_a_team_key_sends_only_to_the_team(live_api: LiveApi) -> None:
    client = live_api.client("team")
    with pytest.raises(HTTPError) as excinfo:
        client.send_sms_notification(PHONE, str(live_api.seeded.templates["sms"].id),
                                     personalisation={"name": "a", "code": "b"})
    assert errors_of(excinfo) == (400, [{"error": "BadRequestError",
                                         "message": "Can’t send to this recipient using a team-only API key"}])
    with pytest.raises(HTTPError) as excinfo:
        client.send_letter_notification(str(live_api.seeded.templates["letter"].id),
                                        {"name": "Ann", **LETTER_ADDRESS})
    assert errors_of(excinfo) == (403, [{"error": "BadRequestError",
                                         "message": "Cannot send letters with a team api key"}])


def test_a_revoked_key_is_refused(live_api: LiveApi) -> None:
    from clarion.db.models import ApiKey
    key = live_api.seeded.api_keys["normal"]
    with live_api.sessions.begin() as session:
        for row in session.query(ApiKey).filter(ApiKey.service_id == live_api.seeded.service.id,
                                                ApiKey.key_type == "normal"):
            row.expiry_date = live_api.clock.now()
    live_api.clock.expire_caches()
    with pytest.raises(HTTPError) as excinfo:
        type(live_api.client())(key, base_url=live_api.url).get_all_templates()
    assert errors_of(excinfo) == (403, [{"error": "AuthError", "message": "Invalid token: API key revoked"}])
    assert live_api.client("test").get_all_templates()["templates"]


def test_a_test_key_text_and_email_have_the_live_shape(live_api: LiveApi) -> None:
    client = live_api.client("test")
    sms_template = live_api.seeded.templates["sms"]
    email_template = live_api.seeded.templates["email"]

    sms = client.send_sms_notification("07700 900456", str(sms_template.id),
                                       personalisation={"name": "Ada", "code": "1"})
    email = client.send_email_notification("anyone@example.com", str(email_template.id),
                                           personalisation={"name": "Ada"}, reference="e-1")

    assert set(sms) == {"id", "reference", "content", "uri", "template", "scheduled_for"}
    assert sms["content"] == {"body": "Test service: Hello Ada, your code is 1", "from_number": "CLARION"}
    assert set(email) == {"id", "reference", "content", "uri", "template", "scheduled_for"}
    assert set(email["content"]) == {"from_email", "body", "subject", "one_click_unsubscribe_url"}
    assert email["reference"] == "e-1"
    for sent, kind in ((sms, "sms"), (email, "email")):
        fetched = client.get_notification_by_id(sent["id"])
        assert set(fetched) == NOTIFICATION_KEYS
        assert fetched["type"] == kind
        assert fetched["created_at"].endswith("Z")
    # a test key lists only test-key notifications, and a live key none of them
    assert {n["id"] for n in client.get_all_notifications()["notifications"]} == {sms["id"], email["id"]}
    assert live_api.client().get_all_notifications()["notifications"] == []
    # but any key reads any notification of the service by id
    assert live_api.client().get_notification_by_id(sms["id"])["id"] == sms["id"]


def test_an_email_with_unsubscribe_link_and_sanitised_content(live_api: LiveApi) -> None:
    client = live_api.client()
    sent = client.send_email_notification("someone@example.com", str(live_api.seeded.templates["email"].id),
                                          personalisation={"name": "Ada"},
                                          one_click_unsubscribe_url="https://example.com/unsub",
                                          sanitise_content_for=["name"])
    assert sent["content"]["one_click_unsubscribe_url"] == "https://example.com/unsub"
    assert client.get_notification_by_id(sent["id"])["one_click_unsubscribe_url"] == "https://example.com/unsub"


def test_simulated_recipients_are_answered_but_not_found_later(live_api: LiveApi) -> None:
    client = live_api.client()
    sent = client.send_sms_notification("07700900000", str(live_api.seeded.templates["sms"].id),
                                        personalisation={"name": "a", "code": "b"})
    emailed = client.send_email_notification("simulate-delivered@notifications.service.gov.uk",
                                             str(live_api.seeded.templates["email"].id),
                                             personalisation={"name": "Ada"})
    for notification_id in (sent["id"], emailed["id"]):
        with pytest.raises(HTTPError) as excinfo:
            client.get_notification_by_id(notification_id)
        assert errors_of(excinfo) == (404, [{"error": "NoResultFound", "message": "No result found"}])
    assert client.get_all_notifications()["notifications"] == []


def test_template_errors_through_the_client(live_api: LiveApi) -> None:
    client = live_api.client()
    with pytest.raises(HTTPError) as excinfo:
        client.get_template("not-a-uuid")
    assert errors_of(excinfo) == (400, [{"error": "ValidationError", "message": "id is not a valid UUID"}])
    with pytest.raises(HTTPError) as excinfo:
        client.get_template_version(str(live_api.seeded.templates["sms"].id), 7)
    assert errors_of(excinfo) == (404, [{"error": "NoResultFound", "message": "No result found"}])
    with pytest.raises(HTTPError) as excinfo:
        client.post_template_preview(str(live_api.seeded.templates["sms"].id), {"name": "a"})
    assert errors_of(excinfo) == (400, [{"error": "BadRequestError", "message": "Missing personalisation: code"}])
    template = client.get_template(str(live_api.seeded.templates["email"].id))
    assert template["personalisation"] == {"name": {"required": True}}


def test_an_unknown_sms_sender_and_reply_to_are_named(live_api: LiveApi) -> None:
    client = live_api.client()
    unknown = str(uuid.uuid4())
    service_id = live_api.seeded.service.id
    with pytest.raises(HTTPError) as excinfo:
        client.send_sms_notification(PHONE, str(live_api.seeded.templates["sms"].id),
                                     personalisation={"name": "a", "code": "b"}, sms_sender_id=unknown)
    assert errors_of(excinfo) == (400, [{"error": "BadRequestError", "message":
        f"sms_sender_id {unknown} does not exist in database for service id {service_id}"}])
    with pytest.raises(HTTPError) as excinfo:
        client.send_email_notification("a@example.com", str(live_api.seeded.templates["email"].id),
                                       personalisation={"name": "a"}, email_reply_to_id=unknown)
    assert errors_of(excinfo) == (400, [{"error": "BadRequestError", "message":
        f"email_reply_to_id {unknown} does not exist in database for service id {service_id}"}])


def test_a_precompiled_letter_is_accepted_and_its_pdf_is_not_ready_until_checked(live_api: LiveApi) -> None:
    import io
    client = live_api.client()
    sent = client.send_precompiled_letter_notification("ref", io.BytesIO(b"%PDF-1.4"), postage="first")
    assert sent == {"id": sent["id"], "reference": "ref", "postage": "first"}
    assert client.get_notification_by_id(sent["id"])["status"] == "pending-virus-check"
    with pytest.raises(HTTPError) as excinfo:
        client.get_pdf_for_letter(sent["id"])
    assert errors_of(excinfo) == (400, [{"error": "PDFNotReadyError",
                                         "message": "PDF not available yet, try again later"}])
