"""The signed token in DVLA's callback URL: only our SECRET_KEY makes one that reads back."""

from __future__ import annotations

import uuid

import pytest
from itsdangerous import URLSafeSerializer

from clarion.providers.letter.callback_token import (
    InvalidCallbackToken,
    LetterCallbackTokens,
    callback_url,
)

LETTER = uuid.UUID("5f3c6a8e-1d2b-4c3a-9e8f-7a6b5c4d3e2f")


def test_a_token_reads_back_as_the_notification_id() -> None:
    tokens = LetterCallbackTokens("secret")
    assert tokens.decode(tokens.encode(LETTER)) == LETTER
    assert tokens.decode(tokens.encode(str(LETTER))) == LETTER


def test_a_token_is_safe_in_a_query_string() -> None:
    token = LetterCallbackTokens("secret").encode(LETTER)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


@pytest.mark.parametrize("token", [None, "", "garbage", "eyJhIjoxfQ.forged-signature"])
def test_missing_and_forged_tokens_are_refused(token: str | None) -> None:
    with pytest.raises(InvalidCallbackToken):
        LetterCallbackTokens("secret").decode(token)


def test_a_token_signed_with_another_key_is_refused() -> None:
    token = LetterCallbackTokens("someone-elses-secret").encode(LETTER)
    with pytest.raises(InvalidCallbackToken, match="signature"):
        LetterCallbackTokens("secret").decode(token)


def test_a_value_signed_with_our_key_for_another_purpose_is_refused() -> None:
    other_purpose = URLSafeSerializer("secret", salt="some-other-use").dumps(str(LETTER))
    unsalted = URLSafeSerializer("secret").dumps(str(LETTER))
    for token in (other_purpose, unsalted):
        with pytest.raises(InvalidCallbackToken):
            LetterCallbackTokens("secret").decode(token)


def test_a_correctly_signed_token_that_holds_no_notification_id_is_refused() -> None:
    from clarion.providers.letter.callback_token import SALT
    for payload in ("not-a-uuid", 42, ["x"]):
        token = URLSafeSerializer("secret", salt=SALT).dumps(payload)
        with pytest.raises(InvalidCallbackToken, match="notification id"):
            LetterCallbackTokens("secret").decode(token)


def test_the_callback_url_is_the_api_host_and_the_status_path() -> None:
    url = callback_url("https://api.example/", "tok.en")
    assert url == "https://api.example/notifications/letter/status?token=tok.en"
