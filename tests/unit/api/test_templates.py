"""GET /v2/template(s), template versions, the preview, and the versions route the Python client calls."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.manage import templates
from tests.unit.api.conftest import ApiClient, error_of, messages_of

UNKNOWN = "7b6b4f4e-8a7a-4a43-9d84-8f0a0c1e6d21"


def test_a_template_reads_back_in_notifys_shape(api: ApiClient, seeded: Any) -> None:
    template = seeded.templates["email"]
    assert api.get(f"/v2/template/{template.id}").json() == {
        "id": str(template.id), "type": "email", "created_at": "2026-01-05T09:00:00.000000Z", "updated_at": None,
        "created_by": None, "version": 1, "body": "Dear ((name)),\n\nThanks.", "subject": "Hello ((name))",
        "name": "email", "personalisation": {"name": {"required": True}}, "postage": None,
        "letter_contact_block": None,
    }


def test_each_version_of_a_template_can_be_read(api: ApiClient, seeded: Any, sessions: sessionmaker[Session],
                                                clock: ManualClock) -> None:
    template = seeded.templates["sms"]
    with sessions.begin() as session:
        templates.update_template(session, templates.get_template(session, template.id), content="New ((x))",
                                  now=clock.now())
    assert api.get(f"/v2/template/{template.id}").json()["version"] == 2
    old = api.get(f"/v2/template/{template.id}/version/1").json()
    assert (old["version"], old["body"]) == (1, "Hello ((name)), your code is ((code))")
    assert error_of(api.get(f"/v2/template/{template.id}/version/3"), 404)["message"] == "No result found"
    versions = api.get(f"/service/{seeded.service.id}/template/{template.id}/versions").json()["data"]
    assert [(v["version"], v["content"]) for v in versions] == [
        (2, "New ((x))"), (1, "Hello ((name)), your code is ((code))")]


def test_the_versions_route_serves_only_the_callers_service(api: ApiClient, seeded: Any) -> None:
    template = seeded.templates["sms"]
    assert error_of(api.get(f"/service/{UNKNOWN}/template/{template.id}/versions"), 404)["error"] == "NoResultFound"


def test_templates_are_listed_and_filtered_by_type(api: ApiClient, seeded: Any) -> None:
    assert {t["type"] for t in api.get("/v2/templates").json()["templates"]} == {"sms", "email", "letter"}
    assert [t["id"] for t in api.get("/v2/templates", params={"type": "sms"}).json()["templates"]] == [
        str(seeded.templates["sms"].id)]
    assert messages_of(api.get("/v2/templates", params={"type": "fax"})) == [
        "type fax is not one of [sms, email, letter]"]


def test_unknown_and_malformed_template_ids(api: ApiClient) -> None:
    assert error_of(api.get(f"/v2/template/{UNKNOWN}"), 404) == {"error": "NoResultFound", "message": "No result found"}


@pytest.mark.parametrize(("method", "path", "status", "error"), [
    # Notify's get_template_by_id_request / post_template_preview_request call the template id `id`.
    ("get", "/v2/template/nope", 400, {"error": "ValidationError", "message": "id is not a valid UUID"}),
    ("get", "/v2/template/nope/version/1", 400, {"error": "ValidationError", "message": "id is not a valid UUID"}),
    ("post", "/v2/template/nope/preview", 400, {"error": "ValidationError", "message": "id is not a valid UUID"}),
    ("get", f"/v2/template/{UNKNOWN}/version/1", 404, {"error": "NoResultFound", "message": "No result found"}),
    ("post", f"/v2/template/{UNKNOWN}/preview", 404, {"error": "NoResultFound", "message": "No result found"}),
    # `/version/<int:version>`: a version that is not a whole number matches no route.
    ("get", "/{sms}/version/one", 404, {"error": "NotFound",
                                       "message": "The requested URL was not found on the server"}),
    ("get", "/{sms}/version/-1", 404, {"error": "NotFound",
                                      "message": "The requested URL was not found on the server"}),
    ("get", "/{sms}/version/99999999999", 404, {"error": "NoResultFound", "message": "No result found"}),
])
def test_template_ids_and_versions_are_refused_as_notify_refuses_them(api: ApiClient, seeded: Any, method: str,
                                                                     path: str, status: int,
                                                                     error: dict[str, str]) -> None:
    path = path.replace("/{sms}", f"/v2/template/{seeded.templates['sms'].id}")
    reply = api.post(path, {}) if method == "post" else api.get(path)
    assert error_of(reply, status) == error


@pytest.mark.parametrize(("content", "expected"), [
    (b"{", (400, "BadRequestError", "Invalid JSON supplied in POST data")),
    (b" ", (400, "BadRequestError", "Invalid JSON supplied in POST data")),
    (b'{"personalisation": 5}', (400, "ValidationError", "personalisation 5 is not of type object")),
])
def test_a_preview_body_is_checked_before_the_template_is_looked_up(api: ApiClient, content: bytes,
                                                                    expected: tuple[int, str, str]) -> None:
    status, name, message = expected
    reply = api.post(f"/v2/template/{UNKNOWN}/preview", content=content)
    assert error_of(reply, status) == {"error": name, "message": message}


def test_a_preview_without_a_body_or_with_null_fills_nothing(api: ApiClient, seeded: Any) -> None:
    letter = seeded.templates["letter"]
    sms = seeded.templates["sms"]
    for content in (b"", b"null", b"{}"):
        reply = api.post(f"/v2/template/{sms.id}/preview", content=content)
        assert error_of(reply, 400)["message"] == "Missing personalisation: name, code"
    assert set(api.post(f"/v2/template/{letter.id}/preview",
                        {"personalisation": {"name": "Ann"}}).json()) == {
        "id", "type", "version", "body", "html", "subject", "postage"}


def test_a_preview_fills_the_template(api: ApiClient, seeded: Any) -> None:
    sms = seeded.templates["sms"]
    body = api.post(f"/v2/template/{sms.id}/preview", {"personalisation": {"name": "Ann", "code": "1"}}).json()
    assert body == {"id": str(sms.id), "type": "sms", "version": 1, "body": "Hello Ann, your code is 1",
                    "html": None, "subject": None, "postage": None}
    email = seeded.templates["email"]
    body = api.post(f"/v2/template/{email.id}/preview", {"personalisation": {"name": "Ann"}}).json()
    assert (body["subject"], body["body"]) == ("Hello Ann", "Dear Ann,\n\nThanks.")
    assert "<p" in body["html"]


def test_a_preview_names_missing_personalisation(api: ApiClient, seeded: Any) -> None:
    reply = api.post(f"/v2/template/{seeded.templates['sms'].id}/preview", {"personalisation": {}})
    assert error_of(reply, 400) == {"error": "BadRequestError", "message": "Missing personalisation: name, code"}
