"""POST /v2/notifications/{sms,email,letter}: the 201 bodies, the stored rows, the queue, and each refusal."""

from __future__ import annotations

from typing import Any

import pytest
from celery import Celery
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.db.models import GuestListRecipient, Notification
from clarion.manage import senders, services, templates
from tests.conftest import START
from tests.unit.api.conftest import ApiClient, drain_queue, error_of, messages_of, wait_for

UK_MOBILE = "07700 900123"
NORMALISED_MOBILE = "447700900123"
ROOT = "http://127.0.0.1:6011/"


def stored(sessions: sessionmaker[Session]) -> list[Notification]:
    with sessions() as session:
        return list(session.scalars(select(Notification)))


def sms_body(seeded: Any, **extra: Any) -> dict[str, Any]:
    return {"phone_number": UK_MOBILE, "template_id": str(seeded.templates["sms"].id),
            "personalisation": {"name": "Ann", "code": "1234"}, **extra}


def email_body(seeded: Any, **extra: Any) -> dict[str, Any]:
    return {"email_address": "ann@example.com", "template_id": str(seeded.templates["email"].id),
            "personalisation": {"name": "Ann"}, **extra}


def letter_body(seeded: Any, **extra: Any) -> dict[str, Any]:
    address = {"address_line_1": "Ann Example", "address_line_2": "1 High Street", "address_line_3": "SW1A 1AA"}
    return {"template_id": str(seeded.templates["letter"].id), "personalisation": {"name": "Ann", **address},
            **extra}


def test_a_text_message_is_accepted_stored_and_queued(api: ApiClient, seeded: Any, sessions: sessionmaker[Session],
                                                     celery_app: Celery) -> None:
    reply = api.post("/v2/notifications/sms", sms_body(seeded, reference="ref-1"))
    assert reply.status_code == 201, reply.text
    body = reply.json()
    template = seeded.templates["sms"]
    assert body == {
        "id": body["id"], "reference": "ref-1",
        "content": {"body": "Test service: Hello Ann, your code is 1234", "from_number": "CLARION"},
        "uri": f"{ROOT}v2/notifications/{body['id']}",
        "template": {"id": str(template.id), "version": 1,
                     "uri": f"{ROOT}services/{seeded.service.id}/templates/{template.id}"},
        "scheduled_for": None,
    }
    [row] = stored(sessions)
    assert (str(row.id), row.status, row.to, row.normalised_to, row.key_type, row.notification_type) == (
        body["id"], "created", UK_MOBILE, NORMALISED_MOBILE, "normal", "sms")
    assert (row.client_reference, row.reply_to_text, row.international, row.template_version) == (
        "ref-1", "CLARION", False, 1)
    assert row.created_at == START
    queued: list[Any] = []
    assert wait_for(lambda: bool(queued.extend(drain_queue(celery_app, "send-sms-tasks")) or queued))
    assert queued == [("deliver_sms", [body["id"]])]


def test_many_text_messages_share_one_queue_message(api: ApiClient, seeded: Any, celery_app: Celery) -> None:
    ids = {api.post("/v2/notifications/sms", sms_body(seeded)).json()["id"] for _ in range(5)}
    collected: list[str] = []

    def all_queued() -> bool:
        collected.extend(i for _, batch in drain_queue(celery_app, "send-sms-tasks") for i in batch)
        return set(collected) == ids
    assert wait_for(all_queued)


def test_an_email_is_accepted_with_notifys_content(api: ApiClient, seeded: Any,
                                                  sessions: sessionmaker[Session]) -> None:
    reply = api.post("/v2/notifications/email", email_body(
        seeded, one_click_unsubscribe_url="https://example.com/unsubscribe"))
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["content"] == {
        "from_email": "test.service@notifications.clarion.local", "body": "Dear Ann,\n\nThanks.",
        "subject": "Hello Ann", "one_click_unsubscribe_url": "https://example.com/unsubscribe",
    }
    assert body["uri"] == f"{ROOT}v2/notifications/{body['id']}"
    [row] = stored(sessions)
    assert (row.notification_type, row.to, row.subject, row.one_click_unsubscribe_url) == (
        "email", "ann@example.com", "Hello Ann", "https://example.com/unsubscribe")


def test_a_template_letter_is_stored_as_created(api: ApiClient, seeded: Any, sessions: sessionmaker[Session]) -> None:
    reply = api.post("/v2/notifications/letter", letter_body(seeded, reference="letter-1"))
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["content"] == {"body": "Dear Ann", "subject": "Your letter"}
    assert body["reference"] == "letter-1"
    [row] = stored(sessions)
    assert (row.notification_type, row.status, row.postage) == ("letter", "created", "second")
    assert row.to == "Ann Example\n1 High Street\nSW1A 1AA"


def test_a_precompiled_letter_is_not_available_yet(api: ApiClient) -> None:
    reply = api.post("/v2/notifications/letter", {"reference": "x", "content": "JVBERi0="})
    assert error_of(reply, 400) == {"error": "BadRequestError",
                                   "message": "Precompiled letters are not available yet: a later release adds them"}


def test_a_letter_needs_three_address_lines(api: ApiClient, seeded: Any) -> None:
    body = letter_body(seeded)
    del body["personalisation"]["address_line_3"]
    assert error_of(api.post("/v2/notifications/letter", body), 400) == {
        "error": "ValidationError", "message": "Address must be at least 3 lines"}


def test_a_team_key_cannot_send_letters(api: ApiClient, seeded: Any) -> None:
    error = error_of(api.post("/v2/notifications/letter", letter_body(seeded), key="team"), 403)
    assert error == {"error": "BadRequestError", "message": "Cannot send letters with a team api key"}


def test_a_trial_mode_service_cannot_send_letters_with_a_live_key(api: ApiClient, seeded: Any,
                                                                  change_service: Any) -> None:
    change_service(restricted=True)
    error = error_of(api.post("/v2/notifications/letter", letter_body(seeded)), 403)
    assert error["message"] == "Cannot send letters when service is in trial mode"
    assert api.post("/v2/notifications/letter", letter_body(seeded), key="test").status_code == 201


def test_a_simulated_number_is_answered_but_never_stored_or_queued(api: ApiClient, seeded: Any,
                                                                  sessions: sessionmaker[Session],
                                                                  celery_app: Celery) -> None:
    reply = api.post("/v2/notifications/sms", sms_body(seeded, phone_number="07700900000"))
    assert reply.status_code == 201
    assert stored(sessions) == []
    assert api.get(f"/v2/notifications/{reply.json()['id']}").status_code == 404
    assert not wait_for(lambda: bool(drain_queue(celery_app, "send-sms-tasks")), timeout_s=0.2)


@pytest.mark.parametrize(("body", "messages"), [
    ({}, ["phone_number is a required property", "template_id is a required property"]),
    ({"template_id": "x"}, ["template_id is not a valid UUID", "phone_number is a required property"]),
    ({"phone_number": "07700 900123", "template_id": "not-a-uuid"}, ["template_id is not a valid UUID"]),
    ({"phone_number": 447700900123, "template_id": "{sms}"}, ["phone_number 447700900123 is not of type string"]),
    ({"phone_number": "0770090012", "template_id": "{sms}"}, ["phone_number Mobile number is too short"]),
    ({"phone_number": "07700 9001234", "template_id": "{sms}"}, ["phone_number Mobile number is too long"]),
    ({"phone_number": "07700 900123", "template_id": "{sms}", "personalisation": "name"},
     ["personalisation name is not of type object"]),
    ({"phone_number": "07700 900123", "template_id": "{sms}", "personalisation": []},
     ["personalisation [] is not of type object"]),
    ({"phone_number": "07700 900123", "template_id": "{sms}", "color": "blue"},
     ["Additional properties are not allowed (color was unexpected)"]),
    ({"phone_number": "07700 900123", "template_id": "{sms}", "reference": "x" * 1001},
     [f"reference {'x' * 100}… is too long"]),
    ({"phone_number": "07700 900123", "template_id": "{sms}", "sms_sender_id": "nope"},
     ["sms_sender_id is not a valid UUID"]),
])
def test_a_malformed_text_message_gets_one_validation_error_per_problem(api: ApiClient, seeded: Any,
                                                                        body: dict[str, Any],
                                                                        messages: list[str]) -> None:
    body = {k: (str(seeded.templates["sms"].id) if v == "{sms}" else v) for k, v in body.items()}
    reply = api.post("/v2/notifications/sms", body)
    assert sorted(messages_of(reply)) == sorted(messages)
    assert {e["error"] for e in reply.json()["errors"]} == {"ValidationError"}


@pytest.mark.parametrize("address", ["not-an-email", "a@b", "ann@example..com", "x" * 300 + "@example.com"])
def test_a_bad_email_address_is_a_validation_error(api: ApiClient, seeded: Any, address: str) -> None:
    reply = api.post("/v2/notifications/email", email_body(seeded, email_address=address))
    assert messages_of(reply) == ["email_address Not a valid email address"]


def test_an_unsubscribe_link_must_be_https(api: ApiClient, seeded: Any) -> None:
    reply = api.post("/v2/notifications/email", email_body(seeded, one_click_unsubscribe_url="http://example.com"))
    assert messages_of(reply) == ["one_click_unsubscribe_url is not a valid https url"]


def test_scheduled_for_is_accepted_and_ignored(api: ApiClient, seeded: Any) -> None:
    reply = api.post("/v2/notifications/sms", sms_body(seeded, scheduled_for="2026-01-05 10:00"))
    assert reply.status_code == 201
    assert reply.json()["scheduled_for"] is None


def test_missing_personalisation_is_named(api: ApiClient, seeded: Any) -> None:
    reply = api.post("/v2/notifications/sms", sms_body(seeded, personalisation={"name": "Ann"}))
    assert error_of(reply, 400) == {"error": "BadRequestError", "message": "Missing personalisation: code"}


def test_an_unknown_template_is_not_found(api: ApiClient) -> None:
    body = {"phone_number": UK_MOBILE, "template_id": "7b6b4f4e-8a7a-4a43-9d84-8f0a0c1e6d21"}
    assert error_of(api.post("/v2/notifications/sms", body), 400)["message"] == "Template not found"


def test_another_services_template_is_not_found(api: ApiClient, sessions: sessionmaker[Session],
                                                clock: ManualClock) -> None:
    with sessions.begin() as session:
        other = services.create_service(session, name="Other", now=clock.now())
        template = templates.create_template(session, other, template_type="sms", name="t", content="hi", now=clock.now())
    body = {"phone_number": UK_MOBILE, "template_id": str(template.id)}
    assert error_of(api.post("/v2/notifications/sms", body), 400)["message"] == "Template not found"


def test_a_template_of_another_type_is_refused(api: ApiClient, seeded: Any) -> None:
    body = {"phone_number": UK_MOBILE, "template_id": str(seeded.templates["email"].id)}
    assert error_of(api.post("/v2/notifications/sms", body), 400)["message"] == (
        "email template is not suitable for sms notification")


def test_an_archived_template_is_refused(api: ApiClient, seeded: Any, sessions: sessionmaker[Session],
                                         clock: ManualClock) -> None:
    with sessions.begin() as session:
        templates.update_template(session, templates.get_template(session, seeded.templates["sms"].id),
                                  archived=True, now=clock.now())
    clock.advance(seconds=3)
    assert error_of(api.post("/v2/notifications/sms", sms_body(seeded)), 400)["message"] == "Template has been deleted"


def test_a_service_without_the_permission_cannot_send(api: ApiClient, seeded: Any, change_service: Any) -> None:
    change_service(permissions=["email"])
    assert error_of(api.post("/v2/notifications/sms", sms_body(seeded)), 400)["message"] == (
        "Service is not allowed to send text messages")
    change_service(permissions=["sms"])
    assert error_of(api.post("/v2/notifications/email", email_body(seeded)), 400)["message"] == (
        "Service is not allowed to send emails")
    assert error_of(api.post("/v2/notifications/letter", letter_body(seeded)), 400)["message"] == (
        "Service is not allowed to send letters")


TRIAL = ("Can’t send to this recipient when service is in trial mode – see "
         "https://www.notifications.service.gov.uk/trial-mode")
TEAM = "Can’t send to this recipient using a team-only API key"


def test_trial_mode_allows_only_the_guest_list(api: ApiClient, seeded: Any, change_service: Any,
                                               sessions: sessionmaker[Session], clock: ManualClock) -> None:
    change_service(restricted=True)
    assert error_of(api.post("/v2/notifications/sms", sms_body(seeded)), 400)["message"] == TRIAL
    assert error_of(api.post("/v2/notifications/email", email_body(seeded)), 400)["message"] == TRIAL
    assert api.post("/v2/notifications/sms", sms_body(seeded), key="test").status_code == 201
    with sessions.begin() as session:
        service = services.get_service(session, seeded.service.id)
        services.add_to_guest_list(session, service, "+44 7700 900123", now=clock.now())
        services.add_to_guest_list(session, service, "Ann@Example.com", now=clock.now())
    clock.advance(seconds=3)
    assert api.post("/v2/notifications/sms", sms_body(seeded)).status_code == 201
    assert api.post("/v2/notifications/email", email_body(seeded)).status_code == 201


def test_a_team_key_sends_only_to_the_guest_list(api: ApiClient, seeded: Any, sessions: sessionmaker[Session],
                                                 clock: ManualClock) -> None:
    assert error_of(api.post("/v2/notifications/sms", sms_body(seeded), key="team"), 400)["message"] == TEAM
    with sessions.begin() as session:
        session.add(GuestListRecipient(service_id=seeded.service.id, recipient_type="mobile",
                                       recipient=NORMALISED_MOBILE, created_at=clock.now()))
    clock.advance(seconds=3)
    assert api.post("/v2/notifications/sms", sms_body(seeded), key="team").status_code == 201


def test_international_numbers_need_the_permission(api: ApiClient, seeded: Any, change_service: Any,
                                                   sessions: sessionmaker[Session]) -> None:
    body = sms_body(seeded, phone_number="+33 6 12 34 56 78")
    assert error_of(api.post("/v2/notifications/sms", body), 400)["message"] == (
        "Cannot send to international mobile numbers")
    change_service(permissions=["sms", "email", "letter", "international_sms"])
    assert api.post("/v2/notifications/sms", body).status_code == 201
    [row] = stored(sessions)
    assert (row.international, row.phone_prefix, row.normalised_to) == (True, "33", "33612345678")


def test_a_text_message_over_918_characters_is_refused(api: ApiClient, seeded: Any) -> None:
    reply = api.post("/v2/notifications/sms", sms_body(seeded, personalisation={"name": "a" * 1000, "code": "1"}))
    error = error_of(reply, 400)
    assert error["error"] == "BadRequestError"
    assert error["message"].startswith("Text messages cannot be longer than 918 characters. Your message is ")


def test_an_sms_sender_can_be_chosen_and_an_unknown_one_is_refused(api: ApiClient, seeded: Any,
                                                                   sessions: sessionmaker[Session],
                                                                   clock: ManualClock) -> None:
    with sessions.begin() as session:
        sender = senders.create_sms_sender(session, seeded.service, sender="Council", is_default=False,
                                           now=clock.now())
    clock.advance(seconds=3)
    reply = api.post("/v2/notifications/sms", sms_body(seeded, sms_sender_id=str(sender.id)))
    assert reply.json()["content"]["from_number"] == "Council"
    unknown = "7b6b4f4e-8a7a-4a43-9d84-8f0a0c1e6d21"
    error = error_of(api.post("/v2/notifications/sms", sms_body(seeded, sms_sender_id=unknown)), 400)
    assert error["message"] == f"sms_sender_id {unknown} does not exist in database for service id {seeded.service.id}"


def test_an_unknown_email_reply_to_is_refused(api: ApiClient, seeded: Any) -> None:
    unknown = "7b6b4f4e-8a7a-4a43-9d84-8f0a0c1e6d21"
    error = error_of(api.post("/v2/notifications/email", email_body(seeded, email_reply_to_id=unknown)), 400)
    assert error["message"] == (
        f"email_reply_to_id {unknown} does not exist in database for service id {seeded.service.id}")


@pytest.mark.parametrize(("key", "shown"), [("normal", "LIVE"), ("team", "TEAM"), ("test", "TEST")])
def test_the_rate_limit_refuses_with_429(api: ApiClient, seeded: Any, change_service: Any,
                                         sessions: sessionmaker[Session], clock: ManualClock,
                                         key: str, shown: str) -> None:
    change_service(rate_limit=3)  # a bucket of min(ceil(3/3)+1, 1000) = 2 tokens
    with sessions.begin() as session:
        session.add(GuestListRecipient(service_id=seeded.service.id, recipient_type="mobile",
                                       recipient=NORMALISED_MOBILE, created_at=clock.now()))
    clock.advance(seconds=3)  # the guest list, for the team key
    replies = [api.post("/v2/notifications/sms", sms_body(seeded), key=key) for _ in range(3)]
    assert [r.status_code for r in replies[:1]] == [201]
    error = error_of(replies[-1], 429)
    assert error == {"error": "RateLimitError",
                     "message": f"Exceeded rate limit for key type {shown} of 3 requests per 60 seconds"}
    clock.advance(seconds=20)  # 3 a minute: one token back every 20 s
    assert api.post("/v2/notifications/sms", sms_body(seeded), key=key).status_code == 201


def test_the_daily_limit_refuses_with_429(api: ApiClient, seeded: Any, change_service: Any,
                                          sessions: sessionmaker[Session]) -> None:
    change_service(sms_message_limit=2)
    assert [api.post("/v2/notifications/sms", sms_body(seeded)).status_code for _ in range(2)] == [201, 201]
    error = error_of(api.post("/v2/notifications/sms", sms_body(seeded)), 429)
    assert error == {"error": "TooManyRequestsError", "message": "Exceeded send limits (sms: 2) for today"}
    assert len(stored(sessions)) == 2
    assert api.post("/v2/notifications/email", email_body(seeded)).status_code == 201


def test_international_texts_count_against_their_own_daily_limit(api: ApiClient, seeded: Any,
                                                                 change_service: Any) -> None:
    change_service(international_sms_message_limit=1,
                   permissions=["sms", "email", "letter", "international_sms"])
    body = sms_body(seeded, phone_number="+33 6 12 34 56 78")
    assert api.post("/v2/notifications/sms", body).status_code == 201
    error = error_of(api.post("/v2/notifications/sms", body), 429)
    assert error["message"] == "Exceeded send limits (international_sms: 1) for today"
    assert api.post("/v2/notifications/sms", sms_body(seeded)).status_code == 201


def test_limits_are_not_checked_when_switched_off(seeded: Any, settings: Any, clock: ManualClock,
                                                  celery_app: Celery, change_service: Any) -> None:
    from starlette.testclient import TestClient

    from clarion.api.app import create_app
    change_service(rate_limit=1, sms_message_limit=1)
    app = create_app(settings.model_copy(update={"api_rate_limit_enabled": False}), clock=clock,
                     celery_app=celery_app)
    with TestClient(app) as client:
        api = ApiClient(client, clock, seeded.api_keys)
        assert {api.post("/v2/notifications/sms", sms_body(seeded)).status_code for _ in range(4)} == {201}
