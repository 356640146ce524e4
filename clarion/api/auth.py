"""API key authentication: Notify's JWT rules (reference/notify-brief.md §7.1), with its exact messages.

A client signs an HS256 JWT with its key's secret, `iss` = service id and `iat` = now; clarion reads
`iss` without verifying, loads the service and its keys (cached for CACHE_TTL_S, secrets decrypted
once per fill), and tries each key until one verifies. `iat` must be within 30 s of the injected
clock, both ways, exactly as the Notify client's own `decode_jwt_token` checks it.

Clients sign a fresh token per request but `iat` has one-second resolution, so the same token string
arrives many times a second under load. `VerifiedTokens` remembers, per token string, the issuer, the
claims and the secret whose HMAC matched; a repeat then skips the three PyJWT decodes (about a tenth of
the API's CPU per request). Only the signature check is remembered: the service, its keys, revocation
and `iat` are checked on every request exactly as for a new token, and a remembered token is accepted
only while a key with that very secret is still on the service.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt

from clarion.delivery.intake import ApiKeyInfo, Caller, ServiceInfo

__all__ = ["AuthError", "Caller", "VerifiedTokens", "authenticate", "CLOCK_SKEW_S"]

CLOCK_SKEW_S = 30
ALGORITHM = "HS256"
GENERIC_MESSAGE = ("Invalid token: make sure your API token matches the example at "
                   "https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header")

LoadService = Callable[[uuid.UUID], Awaitable[ServiceInfo | None]]


@dataclass(frozen=True, slots=True)
class _Verified:
    issuer: uuid.UUID
    secret: str  # the HMAC key that verified the signature
    claims: dict[str, Any]


class VerifiedTokens:
    """Tokens whose HS256 signature already verified, by exact token string; bounded, per process.

    Verification is a pure function of (token, secret), so remembering it changes no outcome. Tokens
    older than the clock skew are refused by their `iat` anyway, so the whole table is simply dropped
    when it reaches `max_entries` rather than tracking ages.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._tokens: dict[str, _Verified] = {}

    def get(self, token: str) -> _Verified | None:
        return self._tokens.get(token)

    def remember(self, token: str, verified: _Verified) -> None:
        if len(self._tokens) >= self.max_entries:
            self._tokens.clear()
        self._tokens[token] = verified


class AuthError(Exception):
    """A request whose credentials clarion refuses; `status_code` is 401 or 403."""

    def __init__(self, message: str, status_code: int = 403) -> None:
        super().__init__(message)
        self.status_code = status_code


def bearer_token(header: str | None) -> str:
    """The token from an `Authorization: Bearer <token>` header."""
    if not header:
        raise AuthError("Unauthorized: authentication token must be provided", 401)
    if header[:7].lower() != "bearer ":
        raise AuthError("Unauthorized: authentication bearer scheme must be used", 401)
    return header[7:].strip()


def token_issuer(token: str) -> uuid.UUID:
    """The service id in the token's `iss`, read without verifying the signature."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise AuthError(GENERIC_MESSAGE) from None
    issuer = claims.get("iss")
    if issuer is None:
        raise AuthError("Invalid token: iss field not provided")
    try:
        return uuid.UUID(str(issuer))
    except ValueError:
        raise AuthError("Invalid token: service id is not the right data type") from None


async def authenticate(header: str | None, *, load_service: LoadService, now_s: int,
                       verified: VerifiedTokens | None = None) -> Caller:
    """The service and key that signed the request's token; AuthError with Notify's message otherwise.

    With `verified`, a token seen before skips decoding and HMAC; every other check still runs, in
    the same order, so the outcome is the one a fresh verification would give.
    """
    token = bearer_token(header)
    known = verified.get(token) if verified is not None else None
    service = await load_service(known.issuer if known is not None else token_issuer(token))
    if service is None:
        raise AuthError("Invalid token: service not found")
    if not service.api_keys:
        raise AuthError("Invalid token: service has no API keys")
    if not service.active:
        raise AuthError("Invalid token: service is archived")
    if known is not None:
        for key in service.api_keys:
            # Keys before the matching one have other secrets, so a fresh check would skip them too.
            if key.secret == known.secret:
                return _accept(service, key, known.claims, now_s)
        # The key is gone: verify from scratch, which gives the right refusal.
    _check_algorithm(token)
    for key in service.api_keys:
        claims = _verified_claims(token, key.secret)
        if claims is None:
            continue  # not signed with this key: try the next one
        if verified is not None:
            verified.remember(token, _Verified(service.id, key.secret, claims))
        return _accept(service, key, claims, now_s)
    raise AuthError("Invalid token: API key not found")


def _accept(service: ServiceInfo, key: ApiKeyInfo, claims: dict[str, Any], now_s: int) -> Caller:
    _check_issued_at(claims, now_s)
    if key.expiry_date is not None:
        raise AuthError("Invalid token: API key revoked")
    return Caller(service=service, api_key_id=key.id, key_type=key.key_type)


def _check_algorithm(token: str) -> None:
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError:
        raise AuthError(GENERIC_MESSAGE) from None
    if algorithm != ALGORITHM:
        raise AuthError("Invalid token: algorithm used is not HS256")


def _verified_claims(token: str, secret: str) -> dict[str, Any] | None:
    # Time is checked by hand against the injected clock, so PyJWT checks only the signature here.
    try:
        return jwt.decode(token, key=secret.encode(), algorithms=[ALGORITHM],
                          options={"verify_iat": False, "verify_exp": False, "verify_nbf": False,
                                   "verify_iss": False, "verify_aud": False})
    except jwt.InvalidSignatureError:
        return None
    except jwt.PyJWTError:
        raise AuthError(GENERIC_MESSAGE) from None


def _check_issued_at(claims: dict[str, Any], now_s: int) -> None:
    try:
        issued_at = int(claims["iat"])
    except (KeyError, TypeError, ValueError, OverflowError):
        raise AuthError(GENERIC_MESSAGE) from None
    if now_s > issued_at + CLOCK_SKEW_S or issued_at > now_s + CLOCK_SKEW_S:
        raise AuthError("Error: Your system clock must be accurate to within 30 seconds")
