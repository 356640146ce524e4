"""The app around the routes: status, metrics, and a last-resort 500 in Notify's shape."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tests.unit.api.conftest import ApiClient, error_of
from tests.unit.api.test_post_notifications import sms_body


def test_status_answers_ok_when_the_database_does(api: ApiClient) -> None:
    assert api.client.get("/_status").json() == {"status": "ok"}


def test_metrics_count_accepted_notifications_and_time_requests(api: ApiClient, seeded: Any) -> None:
    api.post("/v2/notifications/sms", sms_body(seeded))
    text = api.client.get("/metrics").text
    assert 'clarion_notifications_accepted_total{key_type="normal",notification_type="sms"} 1.0' in text
    assert 'route="/v2/notifications/sms"' in text


def test_an_unexpected_error_is_a_notify_500_without_details(app: FastAPI, api: ApiClient) -> None:
    async def explode() -> None:
        raise RuntimeError("secret detail")
    app.add_api_route("/explode", explode)
    reply = api.client.get("/explode")
    assert error_of(reply, 500) == {"error": "Exception", "message": "Internal server error"}
    assert "secret" not in reply.text


def test_the_app_state_holds_what_the_operator_api_needs(app: FastAPI, api: ApiClient) -> None:
    assert {"settings", "clock", "sessions", "api"} <= set(vars(app.state)["_state"])
