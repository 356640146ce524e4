"""Letter PDFs are kept in a local folder or in S3 (moto's S3 server here) behind one interface."""

from __future__ import annotations

import socket
import socketserver
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from clarion.config import Settings
from clarion.letters.storage import (
    LetterStore,
    LocalFolderStore,
    S3Store,
    StorageError,
    check_key,
    letter_key,
    stores_from_settings,
)

PDF = b"%PDF-1.4 a letter"
KEY = letter_key(uuid.UUID("5b8f4d2a-2f0a-4c43-9a43-8d9d7e4b8f10"))


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_settings(endpoint: str, **extra: object) -> Settings:
    return Settings(letters_storage="s3", s3_endpoint_url=endpoint, aws_region="eu-west-2",
                    aws_access_key_id="testing", aws_secret_access_key="testing",
                    letters_scan_bucket_name=f"scan-{uuid.uuid4().hex[:8]}",
                    letters_pdf_bucket_name=f"pdf-{uuid.uuid4().hex[:8]}", **extra)


def create_buckets(settings: Settings) -> None:
    client = boto3.client("s3", region_name=settings.aws_region, endpoint_url=settings.s3_endpoint_url,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    for bucket in (settings.letters_scan_bucket_name, settings.letters_pdf_bucket_name):
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": settings.aws_region})


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> LetterStore:
    """The PDF bucket of each kind of storage, built from settings as clarion builds it."""
    if request.param == "local":
        return stores_from_settings(Settings(letters_folder=tmp_path / "letters")).pdf
    settings = s3_settings(request.getfixturevalue("moto_url"))
    create_buckets(settings)
    return stores_from_settings(settings).pdf


def test_a_stored_letter_reads_back(store: LetterStore) -> None:
    store.put(KEY, PDF)
    assert store.exists(KEY)
    assert store.get(KEY) == PDF


def test_a_letter_never_stored_reads_as_none(store: LetterStore) -> None:
    assert store.get(KEY) is None
    assert not store.exists(KEY)


def test_storing_again_replaces_the_letter(store: LetterStore) -> None:
    store.put(KEY, PDF)
    store.put(KEY, b"%PDF-1.4 the second version")
    assert store.get(KEY) == b"%PDF-1.4 the second version"


def test_a_deleted_letter_is_gone_and_deleting_twice_is_harmless(store: LetterStore) -> None:
    store.put(KEY, PDF)
    store.delete(KEY)
    store.delete(KEY)
    assert store.get(KEY) is None
    assert not store.exists(KEY)


@pytest.mark.parametrize("key", ["../escape.pdf", "a/b.pdf", "/etc/passwd", "", ".hidden", "..", "a\\b.pdf",
                                 "name\0.pdf"])
def test_a_key_that_is_not_a_plain_name_is_refused(store: LetterStore, key: str) -> None:
    for call in (lambda: store.put(key, PDF), lambda: store.get(key), lambda: store.exists(key),
                 lambda: store.delete(key)):
        with pytest.raises(ValueError, match="plain name"):
            call()


def test_the_scan_and_pdf_buckets_are_separate(tmp_path: Path) -> None:
    stores = stores_from_settings(Settings(letters_folder=tmp_path))
    stores.scan.put(KEY, PDF)
    assert stores.pdf.get(KEY) is None
    assert (tmp_path / "clarion-letters-scan" / KEY).read_bytes() == PDF


def test_a_local_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = LocalFolderStore(tmp_path / "pdf")
    store.put(KEY, PDF)
    assert [path.name for path in (tmp_path / "pdf").iterdir()] == [KEY]


def test_a_failed_local_write_raises_storage_error_and_leaves_the_old_letter(tmp_path: Path) -> None:
    store = LocalFolderStore(tmp_path / "pdf")
    store.put(KEY, PDF)
    (tmp_path / "pdf" / "blocked.pdf").mkdir()  # a folder where the file should go: the rename fails
    with pytest.raises(StorageError, match="could not write blocked.pdf"):
        store.put("blocked.pdf", PDF)
    assert sorted(path.name for path in (tmp_path / "pdf").iterdir()) == sorted([KEY, "blocked.pdf"])
    assert store.get(KEY) == PDF


def test_an_s3_bucket_that_does_not_exist_raises_storage_error(moto_url: str) -> None:
    store = stores_from_settings(s3_settings(moto_url)).pdf  # buckets never created
    with pytest.raises(StorageError, match="NoSuchBucket"):
        store.put(KEY, PDF)


def test_an_unreachable_s3_server_raises_storage_error() -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    client = boto3.client("s3", region_name="eu-west-2", endpoint_url=f"http://127.0.0.1:{closed}",
                          aws_access_key_id="testing", aws_secret_access_key="testing",
                          config=Config(retries={"max_attempts": 1}))
    with pytest.raises(StorageError, match="S3 get_object on bucket letters failed"):
        S3Store(client, "letters").get(KEY)


def test_the_s3_object_is_a_pdf_under_the_notification_id(moto_url: str) -> None:
    settings = s3_settings(moto_url)
    create_buckets(settings)
    stores_from_settings(settings).pdf.put(KEY, PDF)
    client = boto3.client("s3", region_name="eu-west-2", endpoint_url=moto_url,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    stored = client.get_object(Bucket=settings.letters_pdf_bucket_name, Key="5b8f4d2a-2f0a-4c43-9a43-8d9d7e4b8f10.pdf")
    assert stored["ContentType"] == "application/pdf"
    assert stored["Body"].read() == PDF


def test_letter_keys_are_plain_names() -> None:
    assert check_key(KEY) == KEY


class _StopsMidLetter(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        while self.rfile.readline() not in (b"\r\n", b""):  # the request line and headers; GET has no body
            pass
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: 1000\r\n\r\n"
                         b"%PDF-1.4 a let")


@pytest.fixture
def s3_that_stops_mid_letter() -> Iterator[str]:
    """A loopback server that answers every request 200 with a 1000-byte body, then hangs up after 14 bytes."""
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _StopsMidLetter) as server:
        serving = threading.Thread(target=server.serve_forever, daemon=True)
        serving.start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()
        serving.join()


def test_an_s3_reply_cut_off_while_the_letter_is_read_raises_storage_error(s3_that_stops_mid_letter: str) -> None:
    client = boto3.client("s3", region_name="eu-west-2", endpoint_url=s3_that_stops_mid_letter,
                          aws_access_key_id="testing", aws_secret_access_key="testing",
                          config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
    with pytest.raises(StorageError, match=f"S3 get_object on bucket letters failed while reading {KEY}"):
        S3Store(client, "letters").get(KEY)
