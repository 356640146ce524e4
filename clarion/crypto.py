"""Encryption of stored secrets (API key secrets), keyed from SECRET_KEY.

An API key's secret is the HMAC key its JWTs are signed with, so clarion must be able to read it
back; it is stored as a Fernet token, never in plain.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

__all__ = ["SecretBox", "InvalidToken"]


class SecretBox:
    """Encrypts and decrypts short secrets with a key derived from the service's SECRET_KEY."""

    def __init__(self, secret_key: str) -> None:
        digest = hashlib.sha256(b"clarion-api-key-secrets:" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def encrypt(self, plain: str) -> str:
        """A token that only this SECRET_KEY can open."""
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The secret inside a token; raises InvalidToken if SECRET_KEY changed."""
        return self._fernet.decrypt(token.encode()).decode()
