"""GET /v2/received-text-messages."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.db.models import InboundSms
from tests.unit.api.conftest import ApiClient, messages_of

ROOT = "http://127.0.0.1:6011/"


def test_received_texts_are_listed_newest_first_with_links(api: ApiClient, seeded: Any,
                                                           sessions: sessionmaker[Session], clock: ManualClock) -> None:
    ids = [uuid.uuid4(), uuid.uuid4()]
    with sessions.begin() as session:
        for n, inbound_id in enumerate(ids):
            session.add(InboundSms(id=inbound_id, service_id=seeded.service.id, notify_number="07700900999",
                                   user_number="447700900123", content=f"reply {n}",
                                   created_at=clock.now() + timedelta(seconds=n)))
    body = api.get("/v2/received-text-messages").json()
    assert body["received_text_messages"][0] == {
        "id": str(ids[1]), "created_at": "2026-01-05T09:00:01.000000Z", "service_id": str(seeded.service.id),
        "notify_number": "07700900999", "user_number": "447700900123", "content": "reply 1"}
    assert body["links"] == {"current": f"{ROOT}v2/received-text-messages",
                             "next": f"{ROOT}v2/received-text-messages?older_than={ids[0]}"}
    older = api.get("/v2/received-text-messages", params={"older_than": str(ids[1])}).json()
    assert [m["id"] for m in older["received_text_messages"]] == [str(ids[0])]
    last = api.get("/v2/received-text-messages", params={"older_than": str(ids[0])}).json()
    assert last == {"received_text_messages": [], "links": {"current": f"{ROOT}v2/received-text-messages"}}


def test_a_bad_older_than_is_a_validation_error(api: ApiClient) -> None:
    assert messages_of(api.get("/v2/received-text-messages", params={"older_than": "x"})) == [
        "older_than is not a valid UUID"]
