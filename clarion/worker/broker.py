"""The embedded broker: kombu's filesystem transport, with messages that appear whole.

kombu's own transport creates a message file and then writes it, while a consumer in another
process moves and reads any file it finds without taking the lock, so it can read an empty file
(celery/kombu#1551): the worker fails on the empty JSON and the message is gone. Here a message
is written under a name consumers ignore and renamed into place, which is atomic on one
filesystem, so a consumer sees all of a message or none of it.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

__all__ = ["SCHEME", "Transport"]

SCHEME = "clarionfs://"


class Channel(filesystem.Channel):
    """Writes each message to a temporary name, then renames it to the name consumers look for."""

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + ".partial"  # consumers take only names that end ".{queue}.msg"
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"cannot add a message to {self.data_folder_out!r}") from exc


class Transport(filesystem.Transport):
    Channel = Channel


TRANSPORT_ALIASES.setdefault(SCHEME.removesuffix("://"), f"{__name__}:Transport")
