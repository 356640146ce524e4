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


SHOWS_COMPLETED_AT = {"sent", "delivered", "technical-failure", "temporary-failure", "permanent-failure",
                      "returned-letter", "cancelled", "validation-failed"}
EVERY_STATUS = ["created", "sending", "sent", "pending", "delivered", "technical-failure", "temporary-failure",
                "permanent-failure", "cancelled", "pending-virus-check", "validation-failed", "virus-scan-failed",
                "returned-letter"]


@pytest.mark.parametrize("status", EVERY_STATUS)
def test_completed_at_is_updated_at_only_for_notifys_completed_statuses(api: ApiClient, seeded: Any,
                                                                        sessions: sessionmaker[Session],
                                                                        clock: ManualClock, status: str) -> None:
    notification_id = send(api, seeded)
    clock.advance(seconds=90)
    set_status(sessions, notification_id, status, clock)
    body = api.get(f"/v2/notifications/{notification_id}").json()
    expected = "2026-01-05T09:01:30.000000Z" if status in SHOWS_COMPLETED_AT else None
    assert (body["status"], body["completed_at"]) == (status, expected)


@pytest.mark.parametrize(("stored_status", "shown"), [
    ("created", "accepted"), ("sending", "accepted"), ("delivered", "received"), ("returned-letter", "received"),
    ("technical-failure", "technical-failure"), ("pending-virus-check", "pending-virus-check"),
    ("validation-failed", "validation-failed"), ("virus-scan-failed", "virus-scan-failed"),
    ("cancelled", "cancelled"),
])
def test_a_letter_shows_notifys_letter_status(api: ApiClient, seeded: Any, sessions: sessionmaker[Session],
                                              clock: ManualClock, stored_status: str, shown: str) -> None:
    notification_id = send(api, seeded, "letter")
    set_status(sessions, notification_id, stored_status, clock)
    assert api.get(f"/v2/notifications/{notification_id}").json()["status"] == shown


@pytest.mark.parametrize(("kind", "status", "units", "cost"), [
    ("email", "created", 0, {"is_cost_data_ready": True, "cost_in_pounds": 0.0, "cost_details": {}}),
    ("email", "delivered", 0, {"is_cost_data_ready": True, "cost_in_pounds": 0.0, "cost_details": {}}),
    ("sms", "created", 0, {"is_cost_data_ready": False, "cost_in_pounds": None, "cost_details": {}}),
    ("sms", "delivered", 2, {"is_cost_data_ready": True, "cost_in_pounds": 0.0454,
                             "cost_details": {"billable_sms_fragments": 2, "international_rate_multiplier": 1.0,
                                              "sms_rate": 0.0227}}),
    ("letter", "created", 0, {"is_cost_data_ready": False, "cost_in_pounds": None, "cost_details": {}}),
    ("letter", "sending", 3, {"is_cost_data_ready": True, "cost_in_pounds": 0.8,
                              "cost_details": {"billable_sheets_of_paper": 3, "postage": "second"}}),
])
def test_cost_data_by_type(api: ApiClient, seeded: Any, sessions: sessionmaker[Session], kind: str, status: str,
                           units: int, cost: dict[str, Any]) -> None:
    notification_id = send(api, seeded, kind)
    with sessions.begin() as session:
        session.execute(update(Notification).where(Notification.id == uuid.UUID(notification_id))
                        .values(status=status, billable_units=units))
    body = api.get(f"/v2/notifications/{notification_id}").json()
    assert {name: body[name] for name in cost} == cost
    listed = api.get("/v2/notifications").json()["notifications"]
    assert {name: listed[0][name] for name in cost} == cost


@pytest.mark.parametrize("kind", ["sms", "email", "letter"])
def test_every_type_reads_back_with_the_same_keys(api: ApiClient, seeded: Any, kind: str) -> None:
    keys = {"id", "reference", "email_address", "phone_number", "line_1", "line_2", "line_3", "line_4", "line_5",
            "line_6", "postcode", "type", "status", "template", "body", "subject", "created_at", "created_by_name",
            "sent_at", "completed_at", "scheduled_for", "postage", "one_click_unsubscribe_url", "cost_in_pounds",
            "is_cost_data_ready", "cost_details"}
    body = api.get(f"/v2/notifications/{send(api, seeded, kind)}").json()
    assert set(body) == keys | ({"estimated_delivery"} if kind == "letter" else set())
    assert set(body["template"]) == {"id", "version", "uri"}


@pytest.mark.parametrize(("query", "current"), [
    # Notify rebuilds the query from request.args.to_dict(flat=False): names in first-seen order, values grouped,
    # and only the first older_than / reference.
    ([("status", "delivered"), ("template_type", "sms"), ("status", "sending")],
     "status=delivered&status=sending&template_type=sms"),
    ([("reference", "a"), ("reference", "b"), ("status", "failed")], "reference=a&status=failed"),
    ([("include_jobs", "true"), ("reference", "x y&z")], "include_jobs=true&reference=x+y%26z"),
])
def test_links_repeat_the_query_as_notify_rebuilds_it(api: ApiClient, query: list[tuple[str, str]],
                                                      current: str) -> None:
    assert api.get("/v2/notifications", params=query).json()["links"] == {
        "current": f"{ROOT}v2/notifications?{current}"}


def test_the_next_link_replaces_older_than_in_place(api: ApiClient, seeded: Any, clock: ManualClock) -> None:
    older = send(api, seeded)
    clock.advance(seconds=1)
    newest = send(api, seeded)
    clock.advance(seconds=1)
    send(api, seeded)
    query = [("older_than", newest), ("template_type", "sms"), ("older_than", "x")]
    body = api.get("/v2/notifications", params=query).json()
    assert [n["id"] for n in body["notifications"]] == [older]
    assert body["links"] == {"current": f"{ROOT}v2/notifications?older_than={newest}&template_type=sms",
                             "next": f"{ROOT}v2/notifications?older_than={older}&template_type=sms"}


@pytest.mark.parametrize(("status", "matches"), [
    ("failed", {"technical-failure", "temporary-failure", "permanent-failure", "validation-failed",
                "virus-scan-failed", "returned-letter"}),
    ("delivered", {"delivered"}),
    ("created", {"created"}),
])
def test_a_status_filter_matches_what_notify_expands_it_to(api: ApiClient, seeded: Any,
                                                           sessions: sessionmaker[Session], clock: ManualClock,
                                                           status: str, matches: set[str]) -> None:
    ids = {}
    for stored_status in EVERY_STATUS:
        notification_id = send(api, seeded)
        set_status(sessions, notification_id, stored_status, clock)
        ids[notification_id] = stored_status
    listed = api.get("/v2/notifications", params={"status": status}).json()["notifications"]
    assert {ids[n["id"]] for n in listed} == matches


@pytest.mark.parametrize(("key", "sees"), [("normal", {"normal"}), ("team", {"team"}), ("test", {"test"})])
def test_each_key_type_lists_only_its_own_but_reads_any_by_id(api: ApiClient, seeded: Any, sessions: Any,
                                                              clock: ManualClock, key: str, sees: set[str]) -> None:
    from clarion.db.models import GuestListRecipient
    with sessions.begin() as session:
        session.add(GuestListRecipient(service_id=seeded.service.id, recipient_type="mobile",
                                       recipient="447700900123", created_at=clock.now()))
    clock.advance(seconds=3)
    made = {kind: send(api, seeded, key=kind) for kind in ("normal", "team", "test")}
    listed = {n["id"] for n in api.get("/v2/notifications", key=key).json()["notifications"]}
    assert listed == {made[k] for k in sees}
    for notification_id in made.values():
        assert api.get(f"/v2/notifications/{notification_id}", key=key).status_code == 200


def test_another_services_notification_is_not_found(api: ApiClient, seeded: Any, sessions: sessionmaker[Session],
                                                    clock: ManualClock) -> None:
    notification_id = send(api, seeded)
    with sessions.begin() as session:
        session.execute(update(Notification).where(Notification.id == uuid.UUID(notification_id))
                        .values(service_id=_other_service(session, clock)))
    assert error_of(api.get(f"/v2/notifications/{notification_id}"), 404) == {
        "error": "NoResultFound", "message": "No result found"}
    assert error_of(api.get(f"/v2/notifications/{notification_id}/pdf"), 404)["message"] == "No result found"


def _other_service(session: Session, clock: ManualClock) -> uuid.UUID:
    from clarion.manage import services
    return services.create_service(session, name="Other", now=clock.now()).id


@pytest.mark.parametrize(("status", "error"), [
    ("created", {"error": "PDFNotReadyError", "message": "PDF not available yet, try again later"}),
    ("pending-virus-check", {"error": "PDFNotReadyError", "message": "PDF not available yet, try again later"}),
    ("virus-scan-failed", {"error": "BadRequestError", "message": "File did not pass the virus scan"}),
    ("technical-failure", {"error": "BadRequestError",
                           "message": "PDF not available for letters in status technical-failure"}),
])
def test_the_pdf_route_answers_by_status(api: ApiClient, seeded: Any, sessions: sessionmaker[Session],
                                         clock: ManualClock, status: str, error: dict[str, str]) -> None:
    letter_id = send(api, seeded, "letter")
    set_status(sessions, letter_id, status, clock)
    assert error_of(api.get(f"/v2/notifications/{letter_id}/pdf"), 400) == error
    assert messages_of(api.get("/v2/notifications/nope/pdf")) == ["notification_id is not a valid UUID"]
