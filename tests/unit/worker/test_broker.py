"""The embedded broker: a consumer never sees half a message."""

from __future__ import annotations

import os
from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection

from clarion.worker import broker
from clarion.worker.app import filesystem_transport_options


def test_a_message_is_invisible_to_consumers_until_it_is_written_whole(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # kombu's own transport creates the file, then writes it: a consumer in another process could
    # take it empty in between and fail on it (celery/kombu#1551). clarion's writes it whole under
    # another name first, then renames it into place.
    with Connection(broker.SCHEME, transport_options=filesystem_transport_options(tmp_path)) as connection:
        channel = connection.channel()
        real_replace, renamed = os.replace, []

        def replace_once_checked(source: str, target: str) -> None:
            assert Path(source).read_bytes()  # all of the message is written ...
            with pytest.raises(Empty):  # ... and still no consumer can take it
                channel._get("q")
            renamed.append(target)
            real_replace(source, target)

        monkeypatch.setattr(broker.os, "replace", replace_once_checked)
        channel._put("q", {"whole": True})
        assert renamed  # the message went through the rename
        assert channel._get("q") == {"whole": True}
