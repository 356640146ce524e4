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


def test_a_precompiled_letter_waits_for_its_virus_check(api: ApiClient, sessions: sessionmaker[Session]) -> None:
    # The PDF itself is checked by a worker (tests/unit/letter_pipeline); the API checks only the base64.
    reply = api.post("/v2/notifications/letter", {"reference": "x", "content": "JVBERi0="})
    assert reply.status_code == 201, reply.text
    assert reply.json() == {"id": reply.json()["id"], "reference": "x", "postage": "second"}
    [row] = stored(sessions)
    assert (row.notification_type, row.status, row.client_reference) == ("letter", "pending-virus-check", "x")


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


def test_an_address_of_over_255_characters_is_accepted_and_stored_whole(api: ApiClient, seeded: Any,
                                                                     sessions: sessionmaker[Session]) -> None:
    address = "a" * 64 + "@" + ".".join(["b" * 60] * 3) + ".example.com"
    assert len(address) > 255
    reply = api.post("/v2/notifications/email", email_body(seeded, email_address=address))
    assert reply.status_code == 201
    assert [row.to for row in stored(sessions)] == [address]


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


@pytest.mark.parametrize(("scheduled_for", "message"), [
    (None, None),
    ("2026-01-05 10:00", None),
    ("2026-01-05T10:00:00.000000Z", None),
    ("2026-01-06T08:59", None),
    ("2026-01-05T10:00:00+05:00", None),  # Notify drops the offset without converting
    ("2026-01-05T08:59", "scheduled_for datetime can not be in the past"),
    ("2026-01-06T09:01", "scheduled_for datetime can only be 24 hours in the future"),
    ("tomorrow", "scheduled_for datetime format is invalid. It must be a valid ISO8601 date time format, "
                 "https://en.wikipedia.org/wiki/ISO_8601"),
    (5, "scheduled_for 5 is not of type string, null"),
])
@pytest.mark.parametrize("kind", ["sms", "email"])
def test_scheduled_for_must_be_within_the_next_day_and_is_then_ignored(api: ApiClient, seeded: Any, kind: str,
                                                                       scheduled_for: Any,
                                                                       message: str | None) -> None:
    body = (sms_body if kind == "sms" else email_body)(seeded, scheduled_for=scheduled_for)
    reply = api.post(f"/v2/notifications/{kind}", body)
    if message is None:
        assert reply.status_code == 201, reply.text
        assert reply.json()["scheduled_for"] is None
    else:
        assert error_of(reply, 400) == {"error": "ValidationError", "message": message}


def test_scheduled_for_is_not_a_letter_field(api: ApiClient, seeded: Any) -> None:
    reply = api.post("/v2/notifications/letter", letter_body(seeded, scheduled_for="2026-01-05 10:00"))
    assert messages_of(reply) == ["Additional properties are not allowed (scheduled_for was unexpected)"]


@pytest.mark.parametrize(("kind", "required"), [
    ("sms", ["phone_number is a required property", "template_id is a required property"]),
    ("email", ["email_address is a required property", "template_id is a required property"]),
    ("letter", ["template_id is a required property", "personalisation is a required property"]),
])
@pytest.mark.parametrize("raw", [b"null", b"false", b"0", b'""', b"[]", b"{}"])
def test_a_falsy_json_body_counts_as_an_empty_object(api: ApiClient, kind: str, required: list[str],
                                                     raw: bytes) -> None:
    # Notify: `request.get_json(force=True) or {}`
    assert sorted(messages_of(api.post(f"/v2/notifications/{kind}", content=raw))) == sorted(required)


@pytest.mark.parametrize(("body", "message"), [
    ([1], "[1] is not of type object"),
    ("text", "text is not of type object"),
    (7, "7 is not of type object"),
])
def test_a_json_body_that_is_not_an_object_is_a_validation_error(api: ApiClient, body: Any, message: str) -> None:
    assert messages_of(api.post("/v2/notifications/sms", body)) == [message]


@pytest.mark.parametrize(("kind", "content", "personalisation"), [
    ("sms", "((message))", {"message": ""}),
    ("sms", "((message))", {"message": "   \n  "}),
    ("email", "((message))", {"message": ""}),
])
def test_an_empty_message_is_refused(api: ApiClient, seeded: Any, sessions: sessionmaker[Session],
                                     clock: ManualClock, kind: str, content: str,
                                     personalisation: dict[str, str]) -> None:
    with sessions.begin() as session:
        template = templates.create_template(session, services.get_service(session, seeded.service.id),
                                             template_type=kind, name="empty", content=content,
                                             subject="Hi" if kind == "email" else None, now=clock.now())
    recipient = {"phone_number": UK_MOBILE} if kind == "sms" else {"email_address": "ann@example.com"}
    reply = api.post(f"/v2/notifications/{kind}", {**recipient, "template_id": str(template.id),
                                                   "personalisation": personalisation})
    assert error_of(reply, 400) == {"error": "BadRequestError", "message": "Your message is empty."}
    assert stored(sessions) == []


@pytest.mark.parametrize(("sender", "shown"), [
    ("07700900111", "447700900111"),  # a number is formatted as Notify's try_parse_and_format_phone_number does
    ("Council", "Council"),  # a name is kept as it is
])
def test_a_chosen_sms_sender_that_is_a_number_is_normalised(api: ApiClient, seeded: Any,
                                                            sessions: sessionmaker[Session], clock: ManualClock,
                                                            sender: str, shown: str) -> None:
    with sessions.begin() as session:
        row = senders.create_sms_sender(session, seeded.service, sender=sender, is_default=False, now=clock.now())
    clock.advance(seconds=3)
    reply = api.post("/v2/notifications/sms", sms_body(seeded, sms_sender_id=str(row.id)))
    assert reply.json()["content"]["from_number"] == shown
    [stored_row] = stored(sessions)
    assert stored_row.reply_to_text == shown


@pytest.mark.parametrize(("kind", "recipient"), [
    ("sms", "07700900000"), ("sms", "+447700900111"), ("sms", "07700 900222"),
    ("email", "simulate-delivered@notifications.service.gov.uk"),
    ("email", "simulate-delivered-2@notifications.service.gov.uk"),
    ("email", "Simulate-Delivered-3@notifications.service.gov.uk"),
])
@pytest.mark.parametrize("key", ["normal", "test"])
def test_simulated_recipients_get_a_201_but_are_never_stored(api: ApiClient, seeded: Any,
                                                            sessions: sessionmaker[Session], kind: str,
                                                            recipient: str, key: str) -> None:
    field = "phone_number" if kind == "sms" else "email_address"
    body = (sms_body if kind == "sms" else email_body)(seeded, **{field: recipient})
    reply = api.post(f"/v2/notifications/{kind}", body, key=key)
    assert reply.status_code == 201, reply.text
    assert reply.json()["uri"].endswith(reply.json()["id"])
    assert stored(sessions) == []
    assert error_of(api.get(f"/v2/notifications/{reply.json()['id']}", key=key), 404) == {
        "error": "NoResultFound", "message": "No result found"}


def test_a_test_key_letter_is_never_printed(api: ApiClient, seeded: Any, sessions: sessionmaker[Session]) -> None:
    # Notify creates test letters as sending, then (without a fake DVLA callback) marks them delivered.
    reply = api.post("/v2/notifications/letter", letter_body(seeded), key="test")
    assert reply.status_code == 201, reply.text
    [row] = stored(sessions)
    assert (row.status, row.key_type, row.updated_at) == ("delivered", "test", START)
    read = api.get(f"/v2/notifications/{row.id}", key="test").json()
    assert (read["status"], read["completed_at"]) == ("received", "2026-01-05T09:00:00.000000Z")


@pytest.mark.parametrize("keys", [
    ("address_line_1", "address_line_2", "address_line_3"),
    ("Address Line 1", "ADDRESS-LINE-2", "addressline3"),
])
def test_address_keys_are_matched_as_notify_matches_them(api: ApiClient, seeded: Any, keys: tuple[str, ...]) -> None:
    values = ("Ann Example", "1 High Street", "SW1A 1AA")
    body = {"template_id": str(seeded.templates["letter"].id),
            "personalisation": {"name": "Ann", **dict(zip(keys, values, strict=True))}}
    reply = api.post("/v2/notifications/letter", body)
    assert reply.status_code == 201, reply.text
    read = api.get(f"/v2/notifications/{reply.json()['id']}").json()
    assert (read["line_1"], read["line_2"], read["line_3"]) == values


def assert_send_answer(api: ApiClient, seeded: Any, key: str, kind: str, status: int, message: str | None) -> None:
    """POST a valid notification of `kind` with `key`; a 2xx status, or the BadRequestError message expected."""
    body = {"sms": sms_body, "email": email_body, "letter": letter_body}[kind](seeded)
    reply = api.post(f"/v2/notifications/{kind}", body, key=key)
    if message is None:
        assert reply.status_code == status, reply.text
    else:
        assert error_of(reply, status) == {"error": "BadRequestError", "message": message}


@pytest.mark.parametrize(("key", "kind", "status", "message"), [
    ("team", "sms", 400, TEAM),
    ("team", "email", 400, TEAM),
    ("team", "letter", 403, "Cannot send letters with a team api key"),
    ("test", "sms", 201, None),
    ("test", "email", 201, None),
    ("test", "letter", 201, None),
    ("normal", "sms", 201, None),
    ("normal", "letter", 201, None),
])
def test_what_each_key_type_may_send_on_a_live_service(api: ApiClient, seeded: Any, key: str, kind: str,
                                                       status: int, message: str | None) -> None:
    assert_send_answer(api, seeded, key, kind, status, message)


@pytest.mark.parametrize(("key", "kind", "status", "message"), [
    ("normal", "sms", 400, TRIAL),
    ("normal", "email", 400, TRIAL),
    ("normal", "letter", 403, "Cannot send letters when service is in trial mode"),
    ("team", "sms", 400, TEAM),
    ("team", "letter", 403, "Cannot send letters with a team api key"),
    ("test", "sms", 201, None),
    ("test", "letter", 201, None),
])
def test_what_each_key_type_may_send_on_a_trial_mode_service(api: ApiClient, seeded: Any, change_service: Any,
                                                             key: str, kind: str, status: int,
                                                             message: str | None) -> None:
    change_service(restricted=True)
    assert_send_answer(api, seeded, key, kind, status, message)


def test_an_email_response_has_notifys_shape(api: ApiClient, seeded: Any) -> None:
    reply = api.post("/v2/notifications/email", email_body(seeded, reference=None))
    body = reply.json()
    template = seeded.templates["email"]
    assert body == {
        "id": body["id"], "reference": None,
        "content": {"from_email": "test.service@notifications.clarion.local", "body": "Dear Ann,\n\nThanks.",
                    "subject": "Hello Ann", "one_click_unsubscribe_url": None},
        "uri": f"{ROOT}v2/notifications/{body['id']}",
        "template": {"id": str(template.id), "version": 1,
                     "uri": f"{ROOT}services/{seeded.service.id}/templates/{template.id}"},
        "scheduled_for": None,
    }


def test_a_letter_response_has_notifys_shape(api: ApiClient, seeded: Any) -> None:
    body = api.post("/v2/notifications/letter", letter_body(seeded)).json()
    template = seeded.templates["letter"]
    assert body == {
        "id": body["id"], "reference": None, "content": {"body": "Dear Ann", "subject": "Your letter"},
        "uri": f"{ROOT}v2/notifications/{body['id']}",
        "template": {"id": str(template.id), "version": 1,
                     "uri": f"{ROOT}services/{seeded.service.id}/templates/{template.id}"},
        "scheduled_for": None,
    }
