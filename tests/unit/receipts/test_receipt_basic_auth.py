"""Basic auth for SMS receipts: no header 401, anything wrong 403, an empty token list refuses everyone."""

from __future__ import annotations

import logging

import pytest

from clarion.receipts.basic_auth import BasicAuth, MissingCredentials, WrongCredentials
from tests.unit.receipts.conftest import basic


def auth(*tokens: str) -> BasicAuth:
    return BasicAuth(provider="mmg", user="notify", tokens=list(tokens), setting="MMG_INBOUND_SMS_AUTH")


def header(user: str, password: str) -> str:
    return basic(user, password)["Authorization"]


def test_the_right_user_and_any_configured_token_pass() -> None:
    checker = auth("old-token", "new-token")  # two tokens while a provider moves to the new one
    checker.check(header("notify", "old-token"))
    checker.check(header("notify", "new-token"))


@pytest.mark.parametrize("authorization", [None, ""])
def test_no_credentials_is_401(authorization: str | None) -> None:
    with pytest.raises(MissingCredentials) as refused:
        auth("token").check(authorization)
    assert refused.value.status_code == 401


@pytest.mark.parametrize("authorization", [
    header("notify", "guess"),
    header("someone", "token"),
    header("notify", "token-and-more"),
    "Bearer token",
    "Basic not-base64!",
    "Basic " + "bm90aWZ5dG9rZW4=",  # "notifytoken": no colon
])
def test_wrong_credentials_are_403(authorization: str) -> None:
    with pytest.raises(WrongCredentials) as refused:
        auth("token").check(authorization)
    assert refused.value.status_code == 403


def test_an_empty_token_list_refuses_every_receipt_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="clarion.receipts.basic_auth"):
        checker = auth()
        with pytest.raises(WrongCredentials, match="no tokens are configured"):
            checker.check(header("notify", ""))
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 2  # once when built, once for the refused receipt
    assert all(record.setting == "MMG_INBOUND_SMS_AUTH" for record in warnings)
