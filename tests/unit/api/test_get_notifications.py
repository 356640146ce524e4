"""GET /v2/notifications/{id}, the paged list, and the PDF route."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from clarion.api.app import create_app
from clarion.clock import ManualClock
from clarion.db.models import Notification
from clarion.worker.app import make_celery
from tests.unit.api.conftest import ApiClient, error_of, messages_of
from tests.unit.api.test_post_notifications import email_body, letter_body, sms_body

ROOT = "http://127.0.0.1:6011/"


def send(api: ApiClient, seeded: Any, kind: str = "sms", *, key: str = "normal", **extra: Any) -> str:
    body = {"sms": sms_body, "email": email_body, "letter": letter_body}[kind](seeded, **extra)
    reply = api.post(f"/v2/notifications/{kind}", body, key=key)
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def set_status(sessions: sessionmaker[Session], notification_id: str, status: str, clock: ManualClock) -> None:
    with sessions.begin() as session:
        session.execute(update(Notification).where(Notification.id == uuid.UUID(notification_id))
                        .values(status=status, updated_at=clock.now(), billable_units=2))


def test_a_text_message_reads_back_in_notifys_shape(api: ApiClient, seeded: Any) -> None:
    notification_id = send(api, seeded, reference="ref-1")
    body = api.get(f"/v2/notifications/{notification_id}", key="test").json()  # any key type may read
    template = seeded.templates["sms"]
    assert body == {
        "id": notification_id, "reference": "ref-1", "email_address": None, "phone_number": "07700 900123",
        "line_1": None, "line_2": None, "line_3": None, "line_4": None, "line_5": None, "line_6": None,
        "postcode": None, "type": "sms", "status": "created",
        "template": {"id": str(template.id), "version": 1,
                     "uri": f"{ROOT}services/{seeded.service.id}/templates/{template.id}"},
        "body": "Test service: Hello Ann, your code is 1234", "subject": None,
        "created_at": "2026-01-05T09:00:00.000000Z", "created_by_name": None, "sent_at": None,
        "completed_at": None, "scheduled_for": None, "postage": None, "one_click_unsubscribe_url": None,
        "cost_in_pounds": None, "is_cost_data_ready": False, "cost_details": {},
    }


def test_a_delivered_text_shows_completed_at_and_cost(api: ApiClient, seeded: Any, sessions: sessionmaker[Session],
                                                      clock: ManualClock) -> None:
    notification_id = send(api, seeded)
    clock.advance(seconds=90)
    set_status(sessions, notification_id, "delivered", clock)
    body = api.get(f"/v2/notifications/{notification_id}").json()
    assert body["status"] == "delivered"
    assert body["completed_at"] == "2026-01-05T09:01:30.000000Z"
    assert body["is_cost_data_ready"] is True
    assert body["cost_details"]["billable_sms_fragments"] == 2
    assert body["cost_details"]["international_rate_multiplier"] == 1.0


def test_a_letter_shows_its_address_and_letter_statuses(api: ApiClient, seeded: Any,
                                                        sessions: sessionmaker[Session], clock: ManualClock) -> None:
    notification_id = send(api, seeded, "letter")
    body = api.get(f"/v2/notifications/{notification_id}").json()
    assert (body["type"], body["status"], body["postage"]) == ("letter", "accepted", "second")
    assert (body["line_1"], body["line_2"], body["line_3"], body["postcode"]) == (
        "Ann Example", "1 High Street", "SW1A 1AA", None)
    assert body["estimated_delivery"].endswith("Z")
    set_status(sessions, notification_id, "delivered", clock)
    assert api.get(f"/v2/notifications/{notification_id}").json()["status"] == "received"


def test_an_unknown_notification_is_404_and_a_bad_id_is_400(api: ApiClient) -> None:
    error = error_of(api.get("/v2/notifications/7b6b4f4e-8a7a-4a43-9d84-8f0a0c1e6d21"), 404)
    assert error == {"error": "NoResultFound", "message": "No result found"}
    assert messages_of(api.get("/v2/notifications/not-a-uuid")) == ["notification_id is not a valid UUID"]


def test_the_pdf_of_a_letter_is_not_ready_and_other_types_have_none(api: ApiClient, seeded: Any) -> None:
    letter_id = send(api, seeded, "letter")
    assert error_of(api.get(f"/v2/notifications/{letter_id}/pdf"), 400) == {
        "error": "PDFNotReadyError", "message": "PDF not available yet, try again later"}
    sms_id = send(api, seeded)
    assert error_of(api.get(f"/v2/notifications/{sms_id}/pdf"), 400)["message"] == "Notification is not a letter"


def test_the_list_shows_only_the_callers_key_type_newest_first(api: ApiClient, seeded: Any,
                                                              clock: ManualClock) -> None:
    first = send(api, seeded)
    clock.advance(seconds=1)
    second = send(api, seeded, "email")
    clock.advance(seconds=1)
    send(api, seeded, key="test")
    body = api.get("/v2/notifications").json()
    assert [n["id"] for n in body["notifications"]] == [second, first]
    assert body["links"] == {"current": f"{ROOT}v2/notifications",
                             "next": f"{ROOT}v2/notifications?older_than={first}"}
    assert len(api.get("/v2/notifications", key="test").json()["notifications"]) == 1


def test_the_list_filters_by_status_type_and_reference(api: ApiClient, seeded: Any, sessions: sessionmaker[Session],
                                                       clock: ManualClock) -> None:
    failed = send(api, seeded, reference="a")
    set_status(sessions, failed, "permanent-failure", clock)
    delivered = send(api, seeded, reference="b")
    set_status(sessions, delivered, "delivered", clock)
    email = send(api, seeded, "email", reference="b")

    def ids(**params: Any) -> set[str]:
        return {n["id"] for n in api.get("/v2/notifications", params=params).json()["notifications"]}
    assert ids(status="failed") == {failed}
    assert ids(status=["failed", "delivered"]) == {failed, delivered}
    assert ids(template_type="email") == {email}
    assert ids(reference="b") == {delivered, email}
    assert ids(reference="b", template_type="sms") == {delivered}
    links = api.get("/v2/notifications", params=[("template_type", "sms"), ("status", "delivered")]).json()["links"]
    assert links == {"current": f"{ROOT}v2/notifications?template_type=sms&status=delivered",
                     "next": f"{ROOT}v2/notifications?template_type=sms&status=delivered&older_than={delivered}"}


def test_an_empty_page_has_no_next_link(api: ApiClient) -> None:
    assert api.get("/v2/notifications", params={"include_jobs": "True"}).json() == {
        "notifications": [], "links": {"current": f"{ROOT}v2/notifications?include_jobs=True"}}


@pytest.mark.parametrize(("params", "message"), [
    ({"status": "elephant"}, "status elephant is not one of [cancelled, created, sending, sent, delivered, pending, "
                             "failed, technical-failure, temporary-failure, permanent-failure, pending-virus-check, "
                             "validation-failed, virus-scan-failed, returned-letter, accepted, received]"),
    ({"template_type": "fax"}, "template_type fax is not one of [sms, email, letter]"),
    ({"older_than": "yesterday"}, "older_than is not a valid UUID"),
    ({"colour": "red"}, "Additional properties are not allowed (colour was unexpected)"),
])
def test_bad_list_parameters_are_validation_errors(api: ApiClient, params: dict[str, str], message: str) -> None:
    assert messages_of(api.get("/v2/notifications", params=params)) == [message]


def test_older_than_pages_through_everything_once(sqlite_url: str, seeded_sqlite: Any, clock: ManualClock,
                                                  settings_for: Any) -> None:
    settings = settings_for(sqlite_url, api_page_size=3)
    app = create_app(settings, clock=clock, celery_app=make_celery(settings))
    with TestClient(app) as client:
        api = ApiClient(client, clock, seeded_sqlite.api_keys)
        sent = []
        for n in range(7):
            sent.append(send(api, seeded_sqlite))
            if n % 2:  # some share a created_at: paging must neither skip nor repeat them
                clock.advance(seconds=1)
        seen, older_than, pages = [], None, 0
        while True:
            params = {"older_than": older_than} if older_than else None
            body = api.get("/v2/notifications", params=params).json()
            pages += 1
            if not body["notifications"]:
                assert "next" not in body["links"]
                break
            seen.extend(n["id"] for n in body["notifications"])
            older_than = body["links"]["next"].rsplit("=", 1)[1]
        assert sorted(seen) == sorted(sent) and len(seen) == 7
        assert pages == 4
