"""The official notifications-python-client against clarion over a loopback socket (real HTTP)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from clarion.api.app import create_app
from clarion.config import Settings


@pytest.fixture
def base_url(sqlite_url: str, seeded_sqlite: Any, settings_for: Any) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings: Settings = settings_for(sqlite_url, api_host_name=f"http://127.0.0.1:{port}")
    from clarion.worker.app import make_celery
    app = create_app(settings, celery_app=make_celery(settings))  # the real clock: the client signs with it
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_official_client_sends_reads_and_lists(base_url: str, seeded_sqlite: Any) -> None:
    client = NotificationsAPIClient(seeded_sqlite.api_keys["normal"], base_url=base_url)
    template_id = str(seeded_sqlite.templates["sms"].id)
    sent = client.send_sms_notification("07700 900123", template_id, personalisation={"name": "A", "code": "1"},
                                        reference="from-client")
    assert sent["content"]["body"] == "Test service: Hello A, your code is 1"
    read = client.get_notification_by_id(sent["id"])
    assert (read["id"], read["reference"], read["status"]) == (sent["id"], "from-client", "created")
    listed = client.get_all_notifications(reference="from-client")
    assert [n["id"] for n in listed["notifications"]] == [sent["id"]]
    assert [n["id"] for n in client.get_all_notifications_iterator()] == [sent["id"]]
    assert client.get_template(template_id)["id"] == template_id
    versions = client.get_all_template_versions(template_id)
    assert [v["version"] for v in versions["data"]] == [1]
    assert client.get_received_texts()["received_text_messages"] == []


def test_the_official_client_sees_notifys_errors(base_url: str, seeded_sqlite: Any) -> None:
    client = NotificationsAPIClient(seeded_sqlite.api_keys["normal"], base_url=base_url)
    with pytest.raises(HTTPError) as raised:
        client.send_sms_notification("not a number", str(seeded_sqlite.templates["sms"].id))
    assert raised.value.status_code == 400
    assert raised.value.message == [{"error": "ValidationError",
                                     "message": "phone_number Mobile numbers can only include: 0 1 2 3 4 5 6 7 8 9 ( ) + -"}]
