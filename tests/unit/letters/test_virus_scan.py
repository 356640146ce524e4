"""Precompiled letters are scanned by a real clamd whose database holds only the EICAR test signature.

The fixture starts its own clamd (a unix socket and a loopback TCP port, a temporary folder, a
one-signature database written here, no freshclam and no network) once per test session, and stops it
afterwards. Without /usr/sbin/clamd the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from clarion.config import Settings
from clarion.letters.virus_scan import ClamdScanner, NoScanner, ScanResult, scanner_from_settings
from tests.unit.letters.pdfs import valid_letter

# The EICAR anti-virus test file, put together at run time so the source file itself is never
# mistaken for one by a scanner on a developer's machine.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE_NAME = "Eicar-Signature"
STREAM_LIMIT_BYTES = 1024 * 1024
CLAMD_START_DEADLINE_S = 60  # how long the fixture waits for clamd to load; not a test threshold


@dataclass(frozen=True)
class Clamd:
    socket_path: str
    tcp_port: int


def find_clamd() -> str:
    """clamd's path; skip (or fail under CI=true) when it is not installed."""
    found = shutil.which("clamd") or ("/usr/sbin/clamd" if os.access("/usr/sbin/clamd", os.X_OK) else None)
    if found:
        return found
    message = "clamd is not installed (apt-get install clamav-daemon)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {message}")
    pytest.skip(f"{message}; install it to run the virus-scan tests")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_config(folder: Path, tcp_port: int) -> Path:
    database = folder / "database"
    database.mkdir()
    # An .ndb body signature: name, target type 0 (any file), offset * (anywhere), the bytes in hex.
    (database / "eicar.ndb").write_text(f"{SIGNATURE_NAME}:0:*:{EICAR.hex()}\n")
    config = folder / "clamd.conf"
    config.write_text("\n".join([
        "Foreground yes",
        f"LocalSocket {folder / 'clamd.sock'}",
        f"TCPSocket {tcp_port}",
        "TCPAddr 127.0.0.1",
        f"DatabaseDirectory {database}",
        f"TemporaryDirectory {folder}",
        f"PidFile {folder / 'clamd.pid'}",
        f"LogFile {folder / 'clamd.log'}",
        f"StreamMaxLength {STREAM_LIMIT_BYTES}",
        "",
    ]))
    return config


@pytest.fixture(scope="session")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clamd]:
    program = find_clamd()
    # A short folder name: a unix socket path must stay under ~100 characters.
    folder = Path(tmp_path_factory.mktemp("clamd"))
    port = free_port()
    process = subprocess.Popen([program, "-c", str(write_config(folder, port))], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    running = Clamd(socket_path=str(folder / "clamd.sock"), tcp_port=port)
    probe = ClamdScanner(socket_path=running.socket_path, timeout_s=5)
    deadline = time.monotonic() + CLAMD_START_DEADLINE_S
    while not probe.ping():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log = (folder / "clamd.log").read_text() if (folder / "clamd.log").exists() else ""
            pytest.fail(f"clamd did not start: {process.stderr.read().decode() if process.stderr else ''}{log}")
        time.sleep(0.05)
    yield running
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def scanner(clamd: Clamd) -> ClamdScanner:
    return ClamdScanner(socket_path=clamd.socket_path, timeout_s=30)


def test_the_eicar_test_file_is_infected(scanner: ClamdScanner) -> None:
    result = scanner.scan(EICAR)
    # clamd marks signatures from a database it cannot verify as unofficial.
    assert result == ScanResult("infected", signature=f"{SIGNATURE_NAME}.UNOFFICIAL")
    assert not result.clean


def test_a_pdf_carrying_the_eicar_string_is_infected(scanner: ClamdScanner) -> None:
    pdf = valid_letter()
    marker = pdf.rindex(b"%%EOF")
    result = scanner.scan(pdf[:marker] + b"%" + EICAR + b"\n" + pdf[marker:])
    assert result.outcome == "infected"


def test_a_normal_letter_is_clean(scanner: ClamdScanner) -> None:
    assert scanner.scan(valid_letter(pages=3)) == ScanResult("clean")


def test_a_letter_larger_than_one_chunk_is_scanned_whole(scanner: ClamdScanner) -> None:
    # The signature sits past the first 64 KiB chunk, so clamd must have joined the chunks.
    padding = b"%" + b"0" * 200_000 + b"\n"
    assert scanner.scan(padding + EICAR).outcome == "infected"
    assert scanner.scan(padding).clean


def test_clamd_over_tcp_gives_the_same_verdicts(clamd: Clamd) -> None:
    scanner = ClamdScanner(address=("127.0.0.1", clamd.tcp_port), timeout_s=30)
    assert scanner.scan(EICAR).outcome == "infected"
    assert scanner.scan(valid_letter()).clean


def test_a_file_over_clamds_stream_limit_is_an_error_retrying_cannot_fix(scanner: ClamdScanner) -> None:
    result = scanner.scan(b"%" * (STREAM_LIMIT_BYTES * 2))
    assert (result.outcome, result.retryable) == ("error", False)
    assert "StreamMaxLength" in (result.detail or "")


def test_clamd_not_running_is_a_retryable_error_never_clean(tmp_path: Path) -> None:
    result = ClamdScanner(socket_path=str(tmp_path / "no-clamd.sock"), timeout_s=5).scan(valid_letter())
    assert (result.outcome, result.retryable) == ("error", True)
    assert "no-clamd.sock" in (result.detail or "")


def test_nothing_listening_on_the_tcp_port_is_a_retryable_error() -> None:
    result = ClamdScanner(address=("127.0.0.1", free_port()), timeout_s=5).scan(EICAR)
    assert (result.outcome, result.retryable) == ("error", True)


def test_a_server_that_hangs_up_without_an_answer_is_a_retryable_error(tmp_path: Path) -> None:
    path = str(tmp_path / "silent.sock")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen()
        scanner = ClamdScanner(socket_path=path, timeout_s=5)

        def hang_up() -> None:
            connection, _ = server.accept()
            connection.recv(16)
            connection.close()

        thread = threading.Thread(target=hang_up)
        thread.start()
        result = scanner.scan(b"tiny")
        thread.join()
    assert (result.outcome, result.retryable) == ("error", True)


def test_ping_says_whether_clamd_answers(scanner: ClamdScanner, tmp_path: Path) -> None:
    assert scanner.ping()
    assert not ClamdScanner(socket_path=str(tmp_path / "none.sock"), timeout_s=5).ping()


def test_no_scanner_passes_everything_and_says_it_did_not_look() -> None:
    result = NoScanner().scan(EICAR)
    assert result.clean
    assert result.detail == "not scanned: virus scanning is off"


def test_without_clamd_settings_scanning_is_off_and_the_log_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="clarion.letters.virus_scan"):
        scanner = scanner_from_settings(Settings())
    assert isinstance(scanner, NoScanner)
    assert "virus scanning is off" in caplog.text


def test_clamd_settings_choose_the_socket(clamd: Clamd) -> None:
    by_socket = scanner_from_settings(Settings(clamd_socket=clamd.socket_path))
    by_address = scanner_from_settings(Settings(clamd_address=f"127.0.0.1:{clamd.tcp_port}"))
    assert isinstance(by_socket, ClamdScanner) and by_socket.scan(EICAR).outcome == "infected"
    assert isinstance(by_address, ClamdScanner) and by_address.scan(EICAR).outcome == "infected"


@pytest.mark.parametrize(("settings", "message"), [
    ({"clamd_address": "clamd-without-port"}, "CLAMD_ADDRESS must be host:port"),
    ({"clamd_address": "127.0.0.1:port"}, "CLAMD_ADDRESS must be host:port"),
    ({"clamd_socket": "/run/clamd.sock", "clamd_address": "127.0.0.1:3310"}, "not both"),
])
def test_bad_clamd_settings_are_refused_with_a_clear_message(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        scanner_from_settings(Settings(**settings))
