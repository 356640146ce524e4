"""API key authentication: Notify's JWT rules (reference/notify-brief.md §7.1), with its exact messages.

A client signs an HS256 JWT with its key's secret, `iss` = service id and `iat` = now; clarion reads
`iss` without verifying, loads the service and its keys (cached for CACHE_TTL_S, secrets decrypted
once per fill), and tries each key until one verifies. `iat` must be within 30 s of the injected
clock, both ways, exactly as the Notify client's own `decode_jwt_token` checks it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import jwt

from clarion.delivery.intake import Caller, ServiceInfo

__all__ = ["AuthError", "Caller", "authenticate", "CLOCK_SKEW_S"]

CLOCK_SKEW_S = 30
ALGORITHM = "HS256"
GENERIC_MESSAGE = ("Invalid token: make sure your API token matches the example at "
                   "https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header")

LoadService = Callable[[uuid.UUID], Awaitable[ServiceInfo | None]]


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


async def authenticate(header: str | None, *, load_service: LoadService, now_s: int) -> Caller:
    """The service and key that signed the request's token; AuthError with Notify's message otherwise."""
    token = bearer_token(header)
    service_id = token_issuer(token)
    service = await load_service(service_id)
    if service is None:
        raise AuthError("Invalid token: service not found")
    if not service.api_keys:
        raise AuthError("Invalid token: service has no API keys")
    if not service.active:
        raise AuthError("Invalid token: service is archived")
    _check_algorithm(token)
    for key in service.api_keys:
        claims = _verified_claims(token, key.secret)
        if claims is None:
            continue  # not signed with this key: try the next one
        _check_issued_at(claims, now_s)
        if key.expiry_date is not None:
            raise AuthError("Invalid token: API key revoked")
        return Caller(service=service, api_key_id=key.id, key_type=key.key_type)
    raise AuthError("Invalid token: API key not found")


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
