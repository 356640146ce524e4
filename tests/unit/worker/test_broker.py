"""The embedded broker: a consumer never sees half a message, however busy the queue."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from queue import Empty

import pytest

from kombu import Connection

from clarion.worker import broker
from clarion.worker.app import filesystem_transport_options

MESSAGES = 2_000


def _publish(folder: str) -> None:
    with Connection(broker.SCHEME, transport_options=filesystem_transport_options(Path(folder))) as connection:
        queue = connection.SimpleQueue("q")
        for number in range(MESSAGES):
            queue.put({"number": number, "ids": ["x" * 36] * 50})  # big enough to take a while to write


def test_messages_written_while_another_process_reads_arrive_whole(tmp_path: Path) -> None:
    # kombu's own transport creates the file, then writes it; a reader in another process could
    # take it empty in between and fail (celery/kombu#1551). Read as fast as the writer writes.
    writer = multiprocessing.get_context("spawn").Process(target=_publish, args=(str(tmp_path),))
    writer.start()
    received = []
    with Connection(broker.SCHEME, transport_options=filesystem_transport_options(tmp_path)) as connection:
        queue = connection.SimpleQueue("q")
        while len(received) < MESSAGES:
            message = queue.get(timeout=30)
            received.append(message.payload["number"])
            message.ack()
    writer.join(timeout=30)
    assert sorted(received) == list(range(MESSAGES))


def test_a_message_being_written_is_invisible_until_it_is_complete(tmp_path: Path) -> None:
    options = filesystem_transport_options(tmp_path)
    (Path(options["data_folder_in"]) / "1_abc.q.msg.partial").write_bytes(b"")  # a writer mid-way
    with Connection(broker.SCHEME, transport_options=options) as connection:
        channel = connection.channel()
        channel._put("q", {"whole": True})
        assert channel._get("q") == {"whole": True}
        with pytest.raises(Empty):  # the partial file is not a message
            channel._get("q")
