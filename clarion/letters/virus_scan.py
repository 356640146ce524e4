"""Virus scanning of precompiled letters with ClamAV's daemon, clamd, over its socket.

The wire protocol (clamd(8)): send `zINSTREAM\\0`, then the file as chunks, each a 4-byte big-endian
length and that many bytes, then a zero length; clamd answers one NUL-terminated line:

  stream: OK                                   clean
  stream: <signature> FOUND                    infected
  INSTREAM size limit exceeded. ERROR          larger than clamd's StreamMaxLength
  <anything else> ERROR                        clamd could not scan it

A ScanResult says which of clean, infected and error it was; an error is `retryable` unless retrying
cannot help (the size limit). clamd unreachable or silent is a retryable error, never clean.

The client is written here rather than taken from PyPI: `clamd` and `pyclamd` are abandoned, and
`clamav-client` (the maintained fork) is GPL-2.0, sends 1 KiB chunks, and lets socket errors during
the upload escape untranslated; the protocol is a few lines.

NoScanner, the embedded default when neither CLAMD_SOCKET nor CLAMD_ADDRESS is set, passes every
file without looking; `scanner_from_settings` logs a warning saying so when the process starts.
"""

from __future__ import annotations

import logging
import socket
import struct
from dataclasses import dataclass
from typing import Literal, Protocol

from clarion.config import Settings

__all__ = ["ClamdScanner", "NoScanner", "ScanResult", "Scanner", "scanner_from_settings"]

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
REPLY_LIMIT_BYTES = 4096
SIZE_LIMIT_REPLY = "INSTREAM size limit exceeded. ERROR"


@dataclass(frozen=True)
class ScanResult:
    """What a scan found: clean, infected (with the signature's name), or an error."""

    outcome: Literal["clean", "infected", "error"]
    signature: str | None = None
    detail: str | None = None
    retryable: bool = False  # for an error: whether scanning the same file again later may succeed

    @property
    def clean(self) -> bool:
        """Whether the file may go on to be printed."""
        return self.outcome == "clean"


class Scanner(Protocol):
    """Something that scans a file for viruses."""

    def scan(self, data: bytes) -> ScanResult:
        """Scan the bytes; never raises for a scanner failure, it answers with an error result."""


class NoScanner:
    """The embedded default: passes every file unscanned."""

    def scan(self, data: bytes) -> ScanResult:
        """Clean, without looking."""
        return ScanResult("clean", detail="not scanned: virus scanning is off")


class ClamdScanner:
    """A clamd reached over a unix socket (`socket_path`) or TCP (`address`, a host and port)."""

    def __init__(self, *, socket_path: str | None = None, address: tuple[str, int] | None = None,
                 timeout_s: float = 60.0) -> None:
        if (socket_path is None) == (address is None):
            raise ValueError("ClamdScanner needs exactly one of socket_path and address")
        self.socket_path = socket_path
        self.address = address
        self.timeout_s = timeout_s
        self.where = socket_path if address is None else f"{address[0]}:{address[1]}"  # for messages and logs

    def scan(self, data: bytes) -> ScanResult:
        """Stream the bytes to clamd with INSTREAM and read its verdict."""
        try:
            with self._connect() as connection:
                connection.sendall(b"zINSTREAM\0")
                try:
                    self._send_chunks(connection, data)
                except OSError:
                    # clamd hangs up mid-upload when the stream passes its size limit, after sending
                    # its answer; read that answer rather than report a broken pipe.
                    pass
                reply = _read_reply(connection)
        except OSError as exc:
            return ScanResult("error", detail=f"clamd at {self.where}: {exc.strerror or exc}", retryable=True)
        return _parse_reply(reply)

    def ping(self) -> bool:
        """Whether clamd answers PING with PONG."""
        try:
            with self._connect() as connection:
                connection.sendall(b"zPING\0")
                return _read_reply(connection) == "PONG"
        except OSError:
            return False

    def _connect(self) -> socket.socket:
        if self.socket_path is not None:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.settimeout(self.timeout_s)
            try:
                connection.connect(self.socket_path)
            except OSError:
                connection.close()
                raise
            return connection
        assert self.address is not None
        return socket.create_connection(self.address, timeout=self.timeout_s)

    @staticmethod
    def _send_chunks(connection: socket.socket, data: bytes) -> None:
        view = memoryview(data)
        for start in range(0, len(view), CHUNK_BYTES):
            chunk = view[start:start + CHUNK_BYTES]
            connection.sendall(struct.pack("!I", len(chunk)))
            connection.sendall(chunk)
        connection.sendall(struct.pack("!I", 0))


def _read_reply(connection: socket.socket) -> str:
    """One NUL-terminated reply (or whatever came before clamd closed the connection)."""
    received = bytearray()
    while b"\0" not in received and len(received) < REPLY_LIMIT_BYTES:
        part = connection.recv(REPLY_LIMIT_BYTES)
        if not part:
            break
        received += part
    return received.split(b"\0", 1)[0].decode("utf-8", "replace").strip()


def _parse_reply(reply: str) -> ScanResult:
    if reply == "stream: OK":
        return ScanResult("clean")
    if reply.startswith("stream: ") and reply.endswith(" FOUND"):
        return ScanResult("infected", signature=reply[len("stream: "):-len(" FOUND")])
    if reply == SIZE_LIMIT_REPLY:
        return ScanResult("error", detail="larger than clamd's StreamMaxLength", retryable=False)
    if not reply:
        return ScanResult("error", detail="clamd closed the connection without an answer", retryable=True)
    return ScanResult("error", detail=f"clamd answered {reply[:200]!r}", retryable=True)


def scanner_from_settings(settings: Settings) -> Scanner:
    """ClamdScanner for CLAMD_SOCKET or CLAMD_ADDRESS; NoScanner, with a warning, when neither is set."""
    if settings.clamd_socket and settings.clamd_address:
        raise ValueError("set CLAMD_SOCKET or CLAMD_ADDRESS, not both")
    if settings.clamd_socket:
        scanner = ClamdScanner(socket_path=settings.clamd_socket, timeout_s=settings.clamd_timeout_s)
    elif settings.clamd_address:
        scanner = ClamdScanner(address=_host_and_port(settings.clamd_address), timeout_s=settings.clamd_timeout_s)
    else:
        log.warning("virus scanning is off: CLAMD_SOCKET and CLAMD_ADDRESS are unset, so precompiled "
                    "letters are not scanned")
        return NoScanner()
    log.info("precompiled letters are scanned by clamd", extra={"clamd": scanner.where})
    return scanner


def _host_and_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"CLAMD_ADDRESS must be host:port, for example 127.0.0.1:3310; got {address!r}")
    return host.strip("[]"), int(port)
