"""JWT authentication: every row of Notify's AuthError table, with the injected clock."""

from __future__ import annotations

import uuid
from typing import Any

import jwt
import pytest
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.db.models import ApiKey
from clarion.manage import keys
from tests.unit.api.conftest import ApiClient, error_of, sign

SMS_PATH = "/v2/notifications"  # a GET that needs authentication and nothing else
SOME_ID = "7b6b4f4e-8a7a-4a43-9d84-8f0a0c1e6d21"


def get_with(api: ApiClient, authorization: str | None) -> Any:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return api.client.get(SMS_PATH, headers=headers)


def now_s(clock: ManualClock) -> int:
    return int(clock.now().timestamp())


def test_a_request_without_a_token_is_401(api: ApiClient) -> None:
    error = error_of(get_with(api, None), 401)
    assert error == {"error": "AuthError", "message": "Unauthorized: authentication token must be provided"}


def test_a_token_without_the_bearer_scheme_is_401(api: ApiClient, clock: ManualClock) -> None:
    token = sign(api.api_keys["normal"], iat=now_s(clock))
    error = error_of(get_with(api, f"Basic {token}"), 401)
    assert error["message"] == "Unauthorized: authentication bearer scheme must be used"


def test_the_bearer_scheme_is_case_insensitive(api: ApiClient, clock: ManualClock) -> None:
    token = sign(api.api_keys["normal"], iat=now_s(clock))
    assert get_with(api, f"bEaReR {token}").status_code == 200


@pytest.mark.parametrize(("token", "message"), [
    ("not-a-jwt", "Invalid token: make sure your API token matches the example at "
                  "https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header"),
    (jwt.encode({"iat": 0}, "secret" * 8), "Invalid token: iss field not provided"),
    (jwt.encode({"iss": "not-a-uuid", "iat": 0}, "secret" * 8), "Invalid token: service id is not the right data type"),
    (jwt.encode({"iss": SOME_ID, "iat": 0}, "secret" * 8), "Invalid token: service not found"),
])
def test_a_token_that_names_no_service_is_403(api: ApiClient, token: str, message: str) -> None:
    error = error_of(get_with(api, f"Bearer {token}"), 403)
    assert error == {"error": "AuthError", "message": message}


@pytest.mark.parametrize("skew_s", [-31, 31, -3600, 3600])
def test_a_token_issued_more_than_30_seconds_away_is_403(api: ApiClient, clock: ManualClock, skew_s: int) -> None:
    token = sign(api.api_keys["normal"], iat=now_s(clock) + skew_s)
    error = error_of(get_with(api, f"Bearer {token}"), 403)
    assert error["message"] == "Error: Your system clock must be accurate to within 30 seconds"


@pytest.mark.parametrize("skew_s", [-30, 0, 30])
def test_a_token_issued_within_30_seconds_is_accepted(api: ApiClient, clock: ManualClock, skew_s: int) -> None:
    token = sign(api.api_keys["normal"], iat=now_s(clock) + skew_s)
    assert get_with(api, f"Bearer {token}").status_code == 200


def test_the_clock_decides_when_a_token_goes_stale(api: ApiClient, clock: ManualClock) -> None:
    token = sign(api.api_keys["normal"], iat=now_s(clock))
    assert get_with(api, f"Bearer {token}").status_code == 200
    clock.advance(seconds=31)
    assert error_of(get_with(api, f"Bearer {token}"), 403)["message"].startswith("Error: Your system clock")


@pytest.mark.parametrize("algorithm", ["HS512", "none"])
def test_a_token_not_signed_with_hs256_is_403(api: ApiClient, clock: ManualClock, algorithm: str) -> None:
    if algorithm == "none":
        token = jwt.encode({"iss": api.api_keys["normal"][-73:-37], "iat": now_s(clock)}, None, algorithm="none")
    else:
        token = sign(api.api_keys["normal"], iat=now_s(clock), algorithm=algorithm)
    error = error_of(get_with(api, f"Bearer {token}"), 403)
    assert error["message"] == "Invalid token: algorithm used is not HS256"


def test_a_token_signed_with_another_secret_is_key_not_found(api: ApiClient, clock: ManualClock) -> None:
    forged = api.api_keys["normal"][:-36] + str(uuid.uuid4())
    error = error_of(get_with(api, f"Bearer {sign(forged, iat=now_s(clock))}"), 403)
    assert error["message"] == "Invalid token: API key not found"


def test_a_revoked_key_is_refused_once_the_cache_expires(api: ApiClient, clock: ManualClock,
                                                         sessions: sessionmaker[Session], seeded: Any) -> None:
    assert api.get(SMS_PATH, key="team").status_code == 200
    with sessions.begin() as session:
        key_id = session.query(ApiKey).filter_by(service_id=seeded.service.id, key_type="team").one().id
        keys.revoke_api_key(session, key_id, now=clock.now())
    clock.advance(seconds=3)  # past CACHE_TTL_S
    error = error_of(api.get(SMS_PATH, key="team"), 403)
    assert error["message"] == "Invalid token: API key revoked"
    assert api.get(SMS_PATH, key="normal").status_code == 200


def test_a_key_revoked_over_a_week_ago_is_not_found(api: ApiClient, clock: ManualClock,
                                                    sessions: sessionmaker[Session], seeded: Any) -> None:
    with sessions.begin() as session:
        key_id = session.query(ApiKey).filter_by(service_id=seeded.service.id, key_type="team").one().id
        keys.revoke_api_key(session, key_id, now=clock.now())
    clock.advance(days=8)
    assert error_of(api.get(SMS_PATH, key="team"), 403)["message"] == "Invalid token: API key not found"


def test_an_archived_service_is_refused(api: ApiClient, change_service: Any) -> None:
    change_service(active=False)
    assert error_of(api.get(SMS_PATH), 403)["message"] == "Invalid token: service is archived"


def test_a_service_without_keys_is_refused(api: ApiClient, clock: ManualClock, sessions: sessionmaker[Session],
                                           seeded: Any) -> None:
    with sessions.begin() as session:
        session.query(ApiKey).filter_by(service_id=seeded.service.id).delete()
    clock.advance(seconds=3)
    assert error_of(api.get(SMS_PATH), 403)["message"] == "Invalid token: service has no API keys"


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/v2/notifications/sms"), ("POST", "/v2/notifications/email"), ("POST", "/v2/notifications/letter"),
    ("GET", f"/v2/notifications/{SOME_ID}"), ("GET", "/v2/templates"), ("GET", f"/v2/template/{SOME_ID}"),
    ("GET", "/v2/received-text-messages"), ("POST", f"/v2/template/{SOME_ID}/preview"),
])
def test_every_public_endpoint_needs_a_token(api: ApiClient, method: str, path: str) -> None:
    assert error_of(api.client.request(method, path), 401)["error"] == "AuthError"
