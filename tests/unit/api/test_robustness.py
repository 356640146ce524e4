"""Bad input never produces a 500: odd bodies, malformed JSON, unknown routes, wrong methods."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.unit.api.conftest import ApiClient, error_of

ODD_VALUES: list[Any] = [None, True, 0, -1, 1.5, 10**18, "", " ", "x" * 100_000, "\x00", "\u202e", "😀" * 50,
                         [], [None], {}, {"a": {"b": {"c": [1, {"d": None}]}}}, [[[[[]]]]]]
FIELDS = ["phone_number", "email_address", "template_id", "personalisation", "reference", "sms_sender_id",
          "email_reply_to_id", "scheduled_for", "one_click_unsubscribe_url", "sanitise_content_for", "content",
          "postage"]


def odd_bodies(seeded: Any) -> list[Any]:
    valid = {"sms": {"phone_number": "07700900123", "template_id": str(seeded.templates["sms"].id),
                     "personalisation": {"name": "a", "code": "b"}}}
    bodies: list[Any] = [None, 0, "text", [], [valid["sms"]], {"": ""}, {"\x00": 1}]
    for field in FIELDS:
        for value in ODD_VALUES:
            bodies.append({**valid["sms"], field: value})
    for value in ODD_VALUES:
        bodies.append({**valid["sms"], "personalisation": {"name": value, "code": value}})
    return bodies


def assert_notify_error_or_success(reply: Any) -> None:
    assert reply.status_code < 500, reply.text
    if reply.status_code >= 400:
        body = reply.json()
        assert body["status_code"] == reply.status_code
        assert all(set(e) == {"error", "message"} for e in body["errors"])


@pytest.mark.parametrize("kind", ["sms", "email", "letter"])
def test_odd_bodies_never_cause_a_500(api: ApiClient, seeded: Any, kind: str) -> None:
    for body in odd_bodies(seeded):
        assert_notify_error_or_success(api.post(f"/v2/notifications/{kind}", content=orjson.dumps(body)))
        assert_notify_error_or_success(api.post(f"/v2/template/{seeded.templates[kind].id}/preview",
                                                content=orjson.dumps(body)))


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b"{'a': 1}", b"\xff\xfe", b'"\\ud800"',
                                 b"[" * 5000 + b"]" * 5000, b'{"a": 1e999999}'])
def test_malformed_json_is_a_bad_request(api: ApiClient, raw: bytes) -> None:
    reply = api.post("/v2/notifications/sms", content=raw)
    assert error_of(reply, 400) == {"error": "BadRequestError", "message": "Invalid JSON supplied in POST data"}


@pytest.mark.parametrize("path", ["/v2/notifications/%00", "/v2/notifications/" + "a" * 5000,
                                  "/v2/template/../../etc", "/v2/notifications?older_than=%00",
                                  "/v2/notifications?status=%00", "/v2/notifications?reference=%00"])
def test_odd_paths_and_queries_never_cause_a_500(api: ApiClient, path: str) -> None:
    assert_notify_error_or_success(api.client.get(path, headers=api.headers()))


def test_unknown_routes_and_methods_get_notifys_body(api: ApiClient) -> None:
    assert error_of(api.client.get("/nowhere"), 404)["error"] == "NotFound"
    assert error_of(api.client.put("/v2/notifications/sms"), 405)["error"] == "MethodNotAllowed"
