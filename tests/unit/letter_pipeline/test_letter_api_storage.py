"""POST /v2/notifications/letter (precompiled) when the scan store cannot keep the PDF: Notify's error body
with 503, nothing stored, and none of the day's letters used up (through the real app and the local store)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clarion.config import Settings
from clarion.db.models import Notification
from clarion.letters import letter_key
from tests.unit.api.conftest import error_of
from tests.unit.letter_pipeline.conftest import PostLetter
from tests.unit.letters.pdfs import valid_letter

STORE_DOWN = {"error": "ServiceUnavailable", "message": "The letter could not be stored just now; send it again later"}


def scan_folder(settings: Settings) -> Path:
    return settings.letters_folder / settings.letters_scan_bucket_name


def break_scan_store(settings: Settings) -> None:
    """Put a file where the scan bucket's folder goes, so every write fails (as root, permissions would not)."""
    folder = scan_folder(settings)
    if folder.is_dir():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_bytes(b"")


def letter_ids(sessions: sessionmaker[Session]) -> list[uuid.UUID]:
    with sessions() as session:
        return list(session.scalars(select(Notification.id)))


def test_a_precompiled_letter_the_store_cannot_keep_gets_503_and_uses_none_of_the_days_letters(
        post_precompiled: PostLetter, change_service: Callable[..., None], settings: Settings,
        sessions: sessionmaker[Session]) -> None:
    change_service(letter_message_limit=1)
    break_scan_store(settings)
    assert error_of(post_precompiled(valid_letter()), 503) == STORE_DOWN
    assert error_of(post_precompiled(valid_letter()), 503) == STORE_DOWN  # the service tries again
    assert letter_ids(sessions) == []
    scan_folder(settings).unlink()  # the store is back
    accepted: Any = post_precompiled(valid_letter())
    assert accepted.status_code == 201, accepted.text  # the day's one letter was still there
    refused = error_of(post_precompiled(valid_letter()), 429)
    assert refused["error"] == "TooManyRequestsError"
    [letter_id] = letter_ids(sessions)
    assert [path.name for path in scan_folder(settings).iterdir()] == [letter_key(letter_id)]  # refused: removed
