"""The operator API: admin JWT auth, every operation, and Notify's error body for every refusal."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from clarion.api import admin
from clarion.clock import ManualClock
from clarion.config import Settings
from clarion.db.models import ApiKey, Service, Template

ADMIN_SECRET = "admin-test-secret-" + "x" * 48  # 64 bytes: long enough for every HMAC size


@pytest.fixture
def admin_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"admin_client_secret": settings.admin_client_secret.__class__(ADMIN_SECRET)})


@pytest.fixture
def client(admin_settings: Settings, sessions: sessionmaker[Session], clock: ManualClock) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(admin.router)
    app.state.settings, app.state.sessions, app.state.clock = admin_settings, sessions, clock
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def token(clock: ManualClock, *, secret: str = ADMIN_SECRET, iss: str = "clarion-admin", skew_s: int = 0,
          algorithm: str = "HS256") -> str:
    return jwt.encode({"iss": iss, "iat": int(clock.now().timestamp()) + skew_s}, secret, algorithm=algorithm)


@pytest.fixture
def auth(clock: ManualClock) -> Any:
    def headers() -> dict[str, str]:
        return {"Authorization": f"Bearer {token(clock)}"}
    return headers


def error(reply: Any, status_code: int) -> dict[str, str]:
    """The single error of a Notify error body."""
    assert reply.status_code == status_code, reply.text
    body = reply.json()
    assert body["status_code"] == status_code
    assert len(body["errors"]) >= 1
    return body["errors"][0]


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def service_id(client: TestClient, auth: Any) -> str:
    reply = client.post("/admin/services", json={"name": "Parking permits"}, headers=auth())
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


# --- authentication ------------------------------------------------------------------------------

@pytest.mark.parametrize("iat", [float("nan"), float("inf"), True, "1700000000", None])
def test_a_token_whose_iat_is_not_a_time_is_refused(client: TestClient, iat: Any) -> None:
    forged = jwt.encode({"iss": "clarion-admin", "iat": iat}, ADMIN_SECRET, algorithm="HS256")
    reply = client.get("/admin/providers", headers={"Authorization": f"Bearer {forged}"})
    assert error(reply, 403)["message"] == "Invalid token: iat field not provided"


def test_a_request_without_a_token_is_401(client: TestClient) -> None:
    assert "must be provided" in error(client.get("/admin/providers"), 401)["message"]


def test_a_request_with_another_scheme_is_401(client: TestClient, clock: ManualClock) -> None:
    reply = client.get("/admin/providers", headers={"Authorization": f"Basic {token(clock)}"})
    assert "bearer" in error(reply, 401)["message"]


@pytest.mark.parametrize("bad", [
    {"secret": "wrong-secret-" + "y" * 52},
    {"iss": "someone-else"},
    {"skew_s": 31},
    {"skew_s": -31},
    {"algorithm": "HS512"},
])
def test_a_bad_token_is_403(client: TestClient, clock: ManualClock, bad: dict[str, Any]) -> None:
    reply = client.get("/admin/providers", headers={"Authorization": f"Bearer {token(clock, **bad)}"})
    assert error(reply, 403)["error"] == "AuthError"


def test_garbage_instead_of_a_token_is_403(client: TestClient) -> None:
    reply = client.get("/admin/providers", headers={"Authorization": "Bearer not.a.jwt"})
    assert error(reply, 403)["error"] == "AuthError"


def test_a_token_within_30_seconds_is_accepted(client: TestClient, clock: ManualClock) -> None:
    reply = client.get("/admin/providers", headers={"Authorization": f"Bearer {token(clock, skew_s=-30)}"})
    assert reply.status_code == 200


def test_an_auth_failure_runs_no_operation(client: TestClient, sessions: sessionmaker[Session]) -> None:
    client.post("/admin/services", json={"name": "Sneaky"})
    assert count(sessions, Service) == 0


# --- services ------------------------------------------------------------------------------------

def test_create_read_and_update_a_service(client: TestClient, auth: Any, service_id: str) -> None:
    assert client.get(f"/admin/services/{service_id}", headers=auth()).json()["name"] == "Parking permits"
    reply = client.post(f"/admin/services/{service_id}", json={"restricted": True, "rate_limit": 10}, headers=auth())
    assert reply.status_code == 200
    assert reply.json()["restricted"] is True and reply.json()["rate_limit"] == 10


def test_an_unknown_service_is_404(client: TestClient, auth: Any) -> None:
    reply = client.get(f"/admin/services/{uuid.uuid4()}", headers=auth())
    assert "no service" in error(reply, 404)["message"]


def test_a_malformed_service_id_is_400(client: TestClient, auth: Any) -> None:
    assert error(client.get("/admin/services/nope", headers=auth()), 400)["error"] == "ValidationError"


def test_a_duplicate_service_is_400_and_changes_nothing(client: TestClient, auth: Any, service_id: str,
                                                        sessions: sessionmaker[Session]) -> None:
    reply = client.post("/admin/services", json={"name": "Parking permits"}, headers=auth())
    assert "already exists" in error(reply, 400)["message"]
    assert count(sessions, Service) == 1


@pytest.mark.parametrize("body", [{}, {"name": "x", "colour": "blue"}, {"name": 5}])
def test_a_bad_service_body_is_a_validation_error(client: TestClient, auth: Any, body: dict[str, Any]) -> None:
    assert error(client.post("/admin/services", json=body, headers=auth()), 400)["error"] == "ValidationError"


def test_a_body_that_is_not_json_is_a_validation_error(client: TestClient, auth: Any) -> None:
    reply = client.post("/admin/services", content=b"{not json", headers={**auth(), "Content-Type": "application/json"})
    assert error(reply, 400)["error"] == "ValidationError"


def test_unknown_permissions_are_refused(client: TestClient, auth: Any, service_id: str) -> None:
    reply = client.post(f"/admin/services/{service_id}", json={"permissions": ["fax"]}, headers=auth())
    assert "fax" in error(reply, 400)["message"]


# --- keys ----------------------------------------------------------------------------------------

def test_create_and_revoke_an_api_key(client: TestClient, auth: Any, service_id: str) -> None:
    created = client.post(f"/admin/services/{service_id}/api-keys", json={"key_type": "test", "name": "ci"},
                          headers=auth())
    assert created.status_code == 201
    assert created.json()["api_key"].startswith(f"ci-{service_id}-")
    revoked = client.post(f"/admin/api-keys/{created.json()['id']}/revoke", headers=auth())
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None and "api_key" not in revoked.json()


def test_a_bad_key_type_is_a_validation_error(client: TestClient, auth: Any, service_id: str,
                                              sessions: sessionmaker[Session]) -> None:
    reply = client.post(f"/admin/services/{service_id}/api-keys", json={"key_type": "admin", "name": "x"},
                        headers=auth())
    assert "key_type" in error(reply, 400)["message"]
    assert count(sessions, ApiKey) == 0


def test_revoking_an_unknown_key_is_404(client: TestClient, auth: Any) -> None:
    error(client.post(f"/admin/api-keys/{uuid.uuid4()}/revoke", headers=auth()), 404)


# --- templates -----------------------------------------------------------------------------------

def test_create_a_template_and_a_new_version(client: TestClient, auth: Any, service_id: str) -> None:
    created = client.post(f"/admin/services/{service_id}/templates",
                          json={"type": "email", "name": "Permit", "subject": "Your permit", "body": "Hi ((name))"},
                          headers=auth())
    assert created.status_code == 201 and created.json()["version"] == 1
    changed = client.post(f"/admin/templates/{created.json()['id']}", json={"body": "Hello ((name))"}, headers=auth())
    assert changed.status_code == 200
    assert changed.json()["version"] == 2 and changed.json()["body"] == "Hello ((name))"


def test_an_email_template_needs_a_subject(client: TestClient, auth: Any, service_id: str,
                                           sessions: sessionmaker[Session]) -> None:
    reply = client.post(f"/admin/services/{service_id}/templates",
                        json={"type": "email", "name": "Permit", "body": "Hi"}, headers=auth())
    assert "subject" in error(reply, 400)["message"]
    assert count(sessions, Template) == 0


def test_updating_an_unknown_template_is_404(client: TestClient, auth: Any) -> None:
    error(client.post(f"/admin/templates/{uuid.uuid4()}", json={"name": "x"}, headers=auth()), 404)


# --- senders, reply-to, guest list ---------------------------------------------------------------

def test_add_an_sms_sender(client: TestClient, auth: Any, service_id: str) -> None:
    reply = client.post(f"/admin/services/{service_id}/sms-senders", json={"sms_sender": "PERMITS", "is_default": True},
                        headers=auth())
    assert reply.status_code == 201
    assert reply.json()["sms_sender"] == "PERMITS" and reply.json()["is_default"] is True


def test_add_a_reply_to_address(client: TestClient, auth: Any, service_id: str) -> None:
    reply = client.post(f"/admin/services/{service_id}/reply-to", json={"email_address": "permits@example.com"},
                        headers=auth())
    assert reply.status_code == 201 and reply.json()["email_address"] == "permits@example.com"


def test_a_bad_reply_to_address_is_400(client: TestClient, auth: Any, service_id: str) -> None:
    reply = client.post(f"/admin/services/{service_id}/reply-to", json={"email_address": "nope"}, headers=auth())
    error(reply, 400)


def test_add_to_the_guest_list(client: TestClient, auth: Any, service_id: str) -> None:
    url = f"/admin/services/{service_id}/guest-list"
    reply = client.post(url, json={"recipient": "07700 900123"}, headers=auth())
    assert reply.status_code == 201 and reply.json()["recipient"] == "447700900123"
    assert error(client.post(url, json={"recipient": "07700900123"}, headers=auth()), 400)
    assert error(client.post(url, json={"recipient": "12"}, headers=auth()), 400)


# --- providers -----------------------------------------------------------------------------------

def test_list_providers(client: TestClient, auth: Any) -> None:
    identifiers = {p["identifier"] for p in client.get("/admin/providers", headers=auth()).json()["providers"]}
    assert {"mmg", "firetext"} <= identifiers


def test_set_a_provider_and_read_its_history(client: TestClient, auth: Any) -> None:
    reply = client.post("/admin/providers/firetext", json={"priority": 30, "reason": "MMG is faster today"},
                        headers=auth())
    assert reply.status_code == 200
    assert reply.json()["priority"] == 30 and reply.json()["created_by"] == "admin-api"
    detail = client.get("/admin/providers/firetext", headers=auth()).json()
    assert detail["history"][0]["reason"] == "MMG is faster today"
    assert detail["history"][0]["version"] == detail["version"]


def test_setting_a_provider_needs_a_reason_and_a_change(client: TestClient, auth: Any) -> None:
    assert error(client.post("/admin/providers/mmg", json={"priority": 30}, headers=auth()), 400)
    assert error(client.post("/admin/providers/mmg", json={"reason": "nothing"}, headers=auth()), 400)
    assert error(client.post("/admin/providers/mmg", json={"priority": 300, "reason": "x"}, headers=auth()), 400)


def test_an_unknown_provider_is_404(client: TestClient, auth: Any) -> None:
    error(client.get("/admin/providers/carrier-pigeon", headers=auth()), 404)


@pytest.mark.parametrize("body", [
    {"name": "x" * 256},
    {"name": "nul\u0000name"},
    {"name": "Big", "rate_limit": 10**12},
    {"name": "Just too big", "rate_limit": 2**31},
])
def test_values_no_database_can_store_are_refused_alike_on_both(client: TestClient, auth: Any, body: dict[str, Any],
                                                                 sessions: sessionmaker[Session]) -> None:
    before = count(sessions, Service)
    assert error(client.post("/admin/services", json=body, headers=auth()), 400)["error"] == "BadRequestError"
    assert count(sessions, Service) == before
