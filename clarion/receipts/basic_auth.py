"""HTTP Basic authentication of MMG and Firetext receipts.

clarion puts `user:password` into the receipt URL it gives each provider; the provider sends them
back as `Authorization: Basic ...`. The user must be RECEIPT_BASIC_AUTH_USER and the password one of
the provider's tokens (MMG_INBOUND_SMS_AUTH / FIRETEXT_INBOUND_SMS_AUTH, a list so tokens can be
rotated). No header → 401; anything else wrong → 403. An empty token list refuses every receipt
(fail closed) and says so in the log. Every comparison is constant-time and runs over every token,
so timing does not tell a caller how close a guess came.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from collections.abc import Sequence

__all__ = ["BasicAuth", "MissingCredentials", "ReceiptAuthError", "WrongCredentials"]

log = logging.getLogger(__name__)


class ReceiptAuthError(Exception):
    """The caller is not a provider we trust; `status_code` is the HTTP answer."""

    status_code = 403


class MissingCredentials(ReceiptAuthError):
    """No Authorization header."""

    status_code = 401


class WrongCredentials(ReceiptAuthError):
    """An Authorization header that is not Basic with a known user and token."""


class BasicAuth:
    """Checks one provider's receipts against its user name and token list."""

    def __init__(self, *, provider: str, user: str, tokens: Sequence[str], setting: str) -> None:
        self.provider, self.setting = provider, setting
        self._user = user.encode()
        self._tokens = [token.encode() for token in tokens]
        if not self._tokens:
            log.warning("receipt tokens are not configured: every receipt from this provider will be refused",
                        extra={"provider_name": provider, "setting": setting})

    def check(self, authorization: str | None) -> None:
        """Return if the header carries this provider's credentials; raise MissingCredentials/WrongCredentials."""
        if not authorization:
            raise MissingCredentials("Unauthorized: basic authentication credentials must be provided")
        if not self._tokens:
            log.warning("receipt refused: no tokens configured", extra={"provider_name": self.provider,
                                                                      "setting": self.setting})
            raise WrongCredentials(f"Forbidden: {self.provider} receipts are not accepted: no tokens are configured")
        user, password = _credentials(authorization)
        user_ok = hmac.compare_digest(user, self._user)
        token_ok = False
        for token in self._tokens:  # no early exit: every token costs the same
            token_ok |= hmac.compare_digest(password, token)
        if not (user_ok and token_ok):
            raise WrongCredentials("Forbidden: invalid basic authentication credentials")


def _credentials(authorization: str) -> tuple[bytes, bytes]:
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise WrongCredentials("Forbidden: the Authorization header must use the Basic scheme")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WrongCredentials("Forbidden: the Basic credentials are not valid base64") from None
    user, colon, password = decoded.partition(b":")
    if not colon:
        raise WrongCredentials("Forbidden: the Basic credentials must be user:password")
    return user, password
