"""A plain HTTP server on 127.0.0.1 that records every request exactly and answers as the test says.

It records the method, path, headers (in order, as sent) and the raw body bytes, so a test can assert
the wire format byte for byte. Answers are programmable: a status and body, a delay before answering
or before the body, or closing the connection before or part-way through the reply. `RefusingPort`
gives a loopback URL where connections are refused. It runs in its own thread, so the
client under test runs on a real event loop against real sockets.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Literal


@dataclass(frozen=True)
class Answer:
    """What the server does with a request."""

    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    delay_s: float = 0.0  # wait this long before answering; cut short when the server stops
    body_after_s: float = 0.0  # send the status and headers, then wait this long before the body
    close: Literal["before_reply", "mid_reply"] | None = None


@dataclass(frozen=True)
class CapturedRequest:
    """One request as it arrived."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    client_port: int

    def header(self, name: str) -> str | None:
        """The first value of a header, matched without regard to case."""
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


class CaptureServer:
    """`with CaptureServer() as server:` ... `server.url`, `server.requests`, `server.answer = Answer(...)`."""

    def __init__(self, answer: Answer = Answer(), *,
                 on_request: Callable[[CapturedRequest], None] | None = None) -> None:
        self.answer = answer
        self.on_request = on_request
        self.requests: list[CapturedRequest] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # A short poll interval, so that stopping the server takes milliseconds, not the default half second.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="capture-server", daemon=True)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def only_request(self) -> CapturedRequest:
        """The one request the server received (failing the test if there were more or none)."""
        assert len(self.requests) == 1, f"expected one request, got {len(self.requests)}"
        return self.requests[0]

    def __enter__(self) -> CaptureServer:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stopping.set()  # wakes any delayed answer, so stopping never waits for a delay
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _record(self, request: CapturedRequest) -> Answer:
        with self._lock:
            self.requests.append(request)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        if self.on_request is not None:
            self.on_request(request)
        return self.answer

    def _finished(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _wait(self, delay_s: float) -> None:
        if delay_s:
            self._stopping.wait(delay_s)


def _handler_for(server: CaptureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real providers do

        def do_POST(self) -> None:  # noqa: N802 (the name http.server dispatches to)
            self._capture()

        def do_GET(self) -> None:  # noqa: N802
            self._capture()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # keep test output clean

        def _capture(self) -> None:
            body = self._read_body()
            answer = server._record(CapturedRequest(
                method=self.command, path=self.path, headers=list(self.headers.items()), body=body,
                client_port=self.client_address[1]))
            try:
                server._wait(answer.delay_s)
                self._reply(answer)
            except OSError:
                self.close_connection = True  # the client gave up (timed out); nothing to answer
            finally:
                server._finished()

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                return self._read_chunked()
            return self.rfile.read(int(self.headers.get("Content-Length", 0)))

        def _read_chunked(self) -> bytes:
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b""):
                pass  # trailers
            return b"".join(chunks)

        def _reply(self, answer: Answer) -> None:
            if answer.close == "before_reply":
                self.close_connection = True
                return
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            if answer.close == "mid_reply":
                # Promise more than we send, then hang up.
                self.send_header("Content-Length", str(len(answer.body) + 100))
                self.end_headers()
                self.wfile.write(answer.body)
                self.close_connection = True
                return
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if answer.body_after_s:
                self.wfile.flush()
                server._wait(answer.body_after_s)
            self.wfile.write(answer.body)

    return Handler


class RefusingPort:
    """`with RefusingPort() as url:` a loopback URL where connections are refused.

    The port stays bound (but never listens) for the block, so nothing else can take it meanwhile.
    """

    def __enter__(self) -> str:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._socket.close()
