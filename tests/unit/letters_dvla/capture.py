"""A plain HTTP server on 127.0.0.1 that records every request byte for byte and answers from a script.

By default it answers DVLA's two endpoints the way DVLA does when all is well: authenticate with a
JWT that expires an hour after the test clock's start, and a print job with 202. A test queues other
answers per path with `answer(path, Reply(...))`; each queued answer is used once, in order.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jwt
from aiohttp import web

from clarion.providers.letter.dvla import AUTHENTICATE_PATH, PRINT_JOBS_PATH
from tests.conftest import START

WAIT_S = 10.0
DVLA_SIGNING_SECRET = "the-dvla-side-signing-secret-for-tests"  # only DVLA could check it; clarion never does


def dvla_id_token(expires_at: datetime, subject: str = "clarion") -> str:
    """A JWT as DVLA's authenticate returns it."""
    return jwt.encode({"sub": subject, "exp": int(expires_at.timestamp())}, DVLA_SIGNING_SECRET, algorithm="HS256")


@dataclass
class Recorded:
    """One request exactly as it arrived."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    """One scripted answer; `hold` makes the server wait for the event before answering."""

    status: int = 200
    body: Any = b""
    hold: asyncio.Event | None = None

    def encoded(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


@dataclass
class CaptureServer:
    """The loopback server; `requests` holds every request in arrival order."""

    requests: list[Recorded] = field(default_factory=list)
    _queued: dict[str, deque[Reply]] = field(default_factory=lambda: defaultdict(deque))
    _standing: dict[str, Reply] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    def answer(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to `path` with these replies, one each."""
        self._queued[path].extend(replies)

    def always(self, path: str, reply: Reply) -> None:
        """Answer every request to `path` that has no queued answer with `reply`."""
        self._standing[path] = reply

    def to(self, path: str) -> list[Recorded]:
        """The requests made to one path."""
        return [request for request in self.requests if request.path == path]

    async def wait_for(self, path: str, count: int = 1) -> list[Recorded]:
        """The first `count` requests to `path`, once they have come (a deadline only so a broken test ends)."""
        async def arrived() -> None:
            while len(self.to(path)) < count:
                await asyncio.sleep(0.005)
        await asyncio.wait_for(arrived(), WAIT_S)
        return self.to(path)[:count]

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> str:
        """Listen on a free loopback port; returns the base URL."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock, ssl_context=ssl_context).start()
        scheme = "https" if ssl_context else "http"
        return f"{scheme}://127.0.0.1:{sock.getsockname()[1]}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append(Recorded(method=request.method, path=request.path, query=dict(request.query),
                                      headers=dict(request.headers), body=await request.read()))
        queued = self._queued[request.path]
        reply = queued.popleft() if queued else self._standing.get(request.path) or self._default(request.path)
        if reply.hold is not None:
            await reply.hold.wait()
        return web.Response(status=reply.status, body=reply.encoded(), content_type="application/json")

    @staticmethod
    def _default(path: str) -> Reply:
        if path == AUTHENTICATE_PATH:
            return Reply(200, {"id-token": dvla_id_token(START + timedelta(hours=1))})
        if path == PRINT_JOBS_PATH:
            return Reply(202, {"id": "accepted"})
        return Reply(404, {"errors": [{"status": 404, "title": "Not Found", "detail": f"no route {path}"}]})
