"""Where letter PDFs are kept: an S3 bucket, or (the embedded default) a folder, behind one interface.

There are two buckets, as in Notify: the scan bucket holds precompiled PDFs while they wait for the
virus scan and the checks (Notify's LETTERS_SCAN_BUCKET_NAME), and the PDF bucket holds every letter
that is ready to print, template or precompiled (LETTERS_PDF_BUCKET_NAME); GET .../pdf reads from it.
A letter's key is its notification id plus ".pdf" (`letter_key`). With LETTERS_STORAGE=local each
bucket is a sub-folder of LETTERS_FOLDER.

Keys are checked before use (`check_key`): letters, digits, ".", "-" and "_" only, so no key can
name a path outside its folder. The calls are synchronous (boto3); call them from a worker thread
on an event loop.

StorageError is raised when the store itself fails (S3 unreachable or refusing, a disk error): retry.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import HTTPError

from clarion.config import Settings

__all__ = [
    "LetterStore", "LetterStores", "LocalFolderStore", "S3Store", "StorageError", "check_key", "letter_key",
    "stores_from_settings",
]

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
# A failed call surfaces within seconds as StorageError; the caller's task retries it later.
_S3_CONFIG = Config(connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 3})


class StorageError(Exception):
    """The store could not do what was asked; the letter is unchanged there. Retry later."""


class LetterStore(Protocol):
    """One bucket of letter PDFs."""

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, replacing what was there."""

    def get(self, key: str) -> bytes | None:
        """The bytes under `key`, or None when there are none."""

    def exists(self, key: str) -> bool:
        """Whether something is stored under `key`."""

    def delete(self, key: str) -> None:
        """Remove what is under `key`; nothing happens if there is nothing."""


@dataclass(frozen=True)
class LetterStores:
    """The two buckets: precompiled PDFs waiting for their scan, and letters ready to print."""

    scan: LetterStore
    pdf: LetterStore


def letter_key(notification_id: uuid.UUID) -> str:
    """The key a letter's PDF is stored under, in either bucket."""
    return f"{notification_id}.pdf"


def check_key(key: str) -> str:
    """The key, if it is a plain name; ValueError otherwise (so it can never leave its folder)."""
    if not _KEY.fullmatch(key) or ".." in key:
        raise ValueError(f"a letter key is a plain name of letters, digits, '.', '-' and '_'; got {key!r}")
    return key


class LocalFolderStore:
    """A bucket kept as files in one folder; writes are atomic (a temporary file, then a rename)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def put(self, key: str, data: bytes) -> None:
        """Write the file in full beside its final name, then rename it into place."""
        target = self._path(key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".incoming-", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(data)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageError(f"could not write {key} in {self.folder}: {exc.strerror or exc}") from exc

    def get(self, key: str) -> bytes | None:
        """The file's bytes, or None when there is no such file."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"could not read {key} in {self.folder}: {exc.strerror or exc}") from exc

    def exists(self, key: str) -> bool:
        """Whether the file exists."""
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the file if it is there."""
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"could not delete {key} in {self.folder}: {exc.strerror or exc}") from exc

    def _path(self, key: str) -> Path:
        return self.folder / check_key(key)


class S3Store:
    """A bucket in S3, or in any server that speaks S3 (boto3's "s3" client)."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put(self, key: str, data: bytes) -> None:
        """PUT the object (S3 writes are atomic: readers see the old object or the new one)."""
        self._call("put_object", Key=check_key(key), Body=data, ContentType="application/pdf")

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such object."""
        try:
            reply = self._call("get_object", Key=check_key(key))
        except _NotFound:
            return None
        try:
            return reply["Body"].read()  # the body streams after the call returned: it can fail on its own
        except (BotoCoreError, HTTPError, OSError) as exc:
            raise StorageError(f"S3 get_object on bucket {self.bucket} failed while reading {key}: {exc}") from exc

    def exists(self, key: str) -> bool:
        """Whether the object exists (a HEAD request)."""
        try:
            self._call("head_object", Key=check_key(key))
        except _NotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        """Delete the object; S3 answers the same whether or not it existed."""
        self._call("delete_object", Key=check_key(key))

    def _call(self, operation: str, **arguments: Any) -> Any:
        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **arguments)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _NOT_FOUND_CODES:
                raise _NotFound from exc
            raise StorageError(f"S3 {operation} on bucket {self.bucket} failed: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 {operation} on bucket {self.bucket} failed: {exc}") from exc


class _NotFound(Exception):
    pass


def stores_from_settings(settings: Settings) -> LetterStores:
    """The scan and PDF buckets LETTERS_STORAGE names: folders under LETTERS_FOLDER, or S3 buckets."""
    if settings.letters_storage == "local":
        return LetterStores(scan=LocalFolderStore(settings.letters_folder / settings.letters_scan_bucket_name),
                            pdf=LocalFolderStore(settings.letters_folder / settings.letters_pdf_bucket_name))
    client = boto3.client(
        "s3", region_name=settings.aws_region, endpoint_url=settings.s3_endpoint_url,
        aws_access_key_id=_secret(settings.aws_access_key_id),
        aws_secret_access_key=_secret(settings.aws_secret_access_key), config=_S3_CONFIG,
    )
    return LetterStores(scan=S3Store(client, settings.letters_scan_bucket_name),
                        pdf=S3Store(client, settings.letters_pdf_bucket_name))


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None
