"""A loopback HTTP server that records what boto3 sends to SES v2 and answers as SES would.

By default every request gets `200 {"MessageId": ...}`. A test queues other answers (an SES error
body and headers, a 5xx page) or a hang (no answer until the server stops), and can hold every answer
until a number of requests are in flight at once.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

HANG = object()


@dataclass(frozen=True)
class CapturedRequest:
    """One request as it arrived on the socket."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    """What the server replies to one request."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)


class SesCapture:
    """Start with `with SesCapture() as ses:`; `ses.url` is the endpoint for SES_ENDPOINT_URL."""

    def __init__(self) -> None:
        self.requests: list[CapturedRequest] = []
        self._answers: deque[Answer | object] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._in_flight = threading.Condition()
        self._hold_until = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        """The server's base URL on loopback."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """Queue the answer to the next request; a dict or list body is sent as JSON."""
        raw = json.dumps(body).encode() if isinstance(body, (dict, list)) else str(body).encode()
        with self._lock:
            self._answers.append(Answer(status, raw, tuple((headers or {"Content-Type": "application/json"})
                                                           .items())))

    def hang(self) -> None:
        """Let the next request wait for an answer that never comes."""
        with self._lock:
            self._answers.append(HANG)

    def hold_until_in_flight(self, count: int) -> None:
        """Answer nothing until `count` requests are open at the same time (else answer 503)."""
        self._hold_until = count

    def _next_answer(self) -> Answer | object:
        with self._lock:
            if self._answers:
                return self._answers.popleft()
            return Answer(200, json.dumps({"MessageId": f"capture-{len(self.requests)}"}).encode())

    def _record(self, request: CapturedRequest) -> bool:
        """Record a request; False if it was held and the others it waited for never arrived."""
        with self._in_flight:
            with self._lock:
                self.requests.append(request)
            self._in_flight.notify_all()
            # A guard, not a measurement: it only stops a broken client from hanging the test run.
            return self._in_flight.wait_for(
                lambda: len(self.requests) >= self._hold_until or self._stopping.is_set(), timeout=30)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        capture = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                arrived = CapturedRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                          body)
                if capture._record(arrived):
                    answer = capture._next_answer()
                else:
                    answer = Answer(503, b'{"message": "the other held requests never arrived"}')
                if answer is HANG:
                    capture._stopping.wait(30)
                    self.close_connection = True
                    return
                assert isinstance(answer, Answer)
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("x-amzn-RequestId", "capture-request")
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler

    def __enter__(self) -> SesCapture:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stopping.set()
        with self._in_flight:
            self._in_flight.notify_all()
        self._server.shutdown()
        self._server.server_close()
