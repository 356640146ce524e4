"""The signed token in DVLA's callback URL, which proves a despatch callback is about a letter we sent.

`encode` signs the notification id with SECRET_KEY (itsdangerous `URLSafeSerializer`, under a salt
of its own so a token made for another purpose never passes here); `decode` gives the id back or
raises `InvalidCallbackToken`. The token is URL-safe, so it goes into the query string as it is.
"""

from __future__ import annotations

import uuid

from itsdangerous import BadData, URLSafeSerializer

__all__ = ["CALLBACK_PATH", "InvalidCallbackToken", "LetterCallbackTokens", "callback_url"]

CALLBACK_PATH = "/notifications/letter/status"
SALT = "clarion-dvla-letter-callback"


class InvalidCallbackToken(ValueError):
    """The token is missing, forged, made with another key, or does not hold a notification id."""


class LetterCallbackTokens:
    """Signs and checks the tokens of DVLA callback URLs."""

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("SECRET_KEY is empty; callback tokens cannot be signed")
        self._serializer = URLSafeSerializer(secret_key, salt=SALT)

    def encode(self, notification_id: uuid.UUID | str) -> str:
        """A token that stands for this notification id."""
        return str(self._serializer.dumps(str(uuid.UUID(str(notification_id)))))

    def decode(self, token: str | None) -> uuid.UUID:
        """The notification id signed into `token`; InvalidCallbackToken if it is not one of ours."""
        if not token:
            raise InvalidCallbackToken("no token")
        try:
            payload = self._serializer.loads(token)
        except BadData:
            raise InvalidCallbackToken("bad signature") from None
        try:
            return uuid.UUID(payload)
        except (TypeError, ValueError, AttributeError):
            raise InvalidCallbackToken("the signed value is not a notification id") from None


def callback_url(api_host_name: str, token: str) -> str:
    """Where DVLA posts the despatch callback for the letter `token` stands for."""
    return f"{api_host_name.rstrip('/')}{CALLBACK_PATH}?token={token}"
