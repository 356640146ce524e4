"""DVLA's print API: authenticate for a short-lived JWT, then post one print job per letter.

Authentication is `POST {base}/thirdparty-access/v1/authenticate` with `{"userName", "password"}`,
answered `{"id-token": <JWT>}`. The JWT's `exp` is read without verifying it (it is DVLA's token,
for DVLA), and it is reused until 60 s before it expires; callers that find it stale at the same
time share one authentication. Every API call carries `Authorization: <raw JWT>` (no "Bearer"),
`X-API-Key` and `Accept: application/json`. Notify reads the credentials from AWS SSM; clarion takes
them from settings (DVLA_USERNAME, DVLA_PASSWORD, DVLA_API_KEY).

How DVLA's answers map onto clarion's provider error categories (reference/notify-brief.md §1.5):

| answer                            | raised                                | caller does                        |
|-----------------------------------|---------------------------------------|------------------------------------|
| connection refused, TLS failure   | ProviderUnavailable                   | retry (a fault)                    |
| no reply within DVLA_TIMEOUT_S    | ProviderTimeout                       | retry (a fault)                    |
| 5xx                               | ProviderUnavailable                   | retry (a fault)                    |
| 429                               | ProviderThrottled                     | retry later                        |
| 401 / 403 (token dropped)         | DvlaUnauthorised (retryable)          | retry; it re-authenticates         |
| 409                               | DvlaDuplicatePrintRequest (permanent) | treat as success: DVLA has the job |
| 400 (detail: `errors[0].detail`)  | PermanentProviderError                | technical-failure                  |
| any other 4xx                     | PermanentProviderError                | technical-failure                  |

A failed authentication is about our credentials, never about the letter, so it is retryable
whatever its status (429 still means throttled).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Mapping

import aiohttp
import jwt
import orjson

from clarion.clock import Clock
from clarion.config import Settings
from clarion.providers.errors import (
    PermanentProviderError,
    ProviderError,
    ProviderThrottled,
    ProviderTimeout,
    ProviderUnavailable,
    RetryableProviderError,
)
from clarion.providers.http import require_http_url
from clarion.providers.letter import print_request
from clarion.providers.letter.addresses import InvalidPrintAddress
from clarion.providers.letter.callback_token import LetterCallbackTokens, callback_url
from clarion.providers.letter.client import LetterClient, PrintJob
from clarion.providers.letter.despatch import UnknownPostage
from clarion.providers.letter.tls import tls_context
from clarion.providers.metrics import NO_METRICS, ProviderMetrics

__all__ = [
    "AUTHENTICATE_PATH", "DvlaClient", "DvlaDuplicatePrintRequest", "DvlaUnauthorised", "PRINT_JOBS_PATH",
    "dvla_client_from_settings",
]

log = logging.getLogger(__name__)

AUTHENTICATE_PATH = "/thirdparty-access/v1/authenticate"
PRINT_JOBS_PATH = "/print-request/v1/print/jobs"
TOKEN_REFRESH_MARGIN_S = 60  # refresh this long before `exp`, so no call goes out with a token about to lapse
MAX_REPLY_BYTES = 64 * 1024  # DVLA's replies are small; we never hold more of one than this
MAX_DETAIL_CHARS = 200


class DvlaUnauthorised(RetryableProviderError):
    """DVLA refused our token, API key or credentials (401/403); the cached token is dropped, so a
    retry authenticates afresh."""


class DvlaDuplicatePrintRequest(PermanentProviderError):
    """DVLA already has a print job with this id (409): an earlier attempt was accepted. Never retry;
    the caller treats it as success and marks the letter `sending`."""


class DvlaClient(LetterClient):
    """Sends letters to DVLA's print API; one instance per process, sharing the process's HTTP session."""

    name = "dvla"

    def __init__(self, *, clock: Clock, metrics: ProviderMetrics = NO_METRICS, base_url: str, username: str,
                 password: str, api_key: str, callback_host: str, callback_tokens: LetterCallbackTokens,
                 session: aiohttp.ClientSession, timeout_s: float,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(clock=clock, metrics=metrics)
        for setting, value in (("DVLA_USERNAME", username), ("DVLA_PASSWORD", password),
                               ("DVLA_API_KEY", api_key)):
            if not value:
                raise ValueError(f"{setting} is empty; DVLA would refuse every request")
        if timeout_s <= 0:
            raise ValueError(f"DVLA_TIMEOUT_S must be positive, got {timeout_s}")
        self._base_url = require_http_url("DVLA_API_BASE_URL", base_url).rstrip("/")
        self._callback_host = require_http_url("API_HOST_NAME", callback_host)
        self._username, self._password, self._api_key = username, password, api_key
        self._tokens = callback_tokens
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._id_token: str | None = None
        self._id_token_expires_at = 0.0  # the JWT's `exp`, seconds since the epoch
        self._authenticating = asyncio.Lock()

    async def try_send_letter(self, job: PrintJob, pdf: bytes) -> None:
        """POST the print job; a 2xx answer means DVLA has it and will call back when it is despatched."""
        try:
            target = callback_url(self._callback_host, self._tokens.encode(job.notification_id))
            body = print_request.print_job_request(job, pdf, callback_target=target)
        except (InvalidPrintAddress, UnknownPostage, ValueError) as exc:  # ValueError: an id that is not a UUID
            raise PermanentProviderError(self.name, f"print job {job.notification_id} cannot be made: {exc}") from None
        headers = {"Content-Type": "application/json", **await self.auth_headers()}
        status, reply = await self._post(PRINT_JOBS_PATH, orjson.dumps(body), headers)
        if not 200 <= status < 300:
            raise self._print_job_error(status, reply, job.notification_id)

    async def auth_headers(self) -> dict[str, str]:
        """The headers every DVLA API call carries, authenticating first if the token is stale."""
        return {"Accept": "application/json", "Authorization": await self._current_id_token(),
                "X-API-Key": self._api_key}

    async def _current_id_token(self) -> str:
        token = self._fresh_id_token()
        if token is not None:
            return token
        async with self._authenticating:
            token = self._fresh_id_token()  # whoever held the lock before us may have just refreshed it
            if token is None:
                token, expires_at = await self._authenticate()
                self._id_token, self._id_token_expires_at = token, expires_at
        return token

    def _fresh_id_token(self) -> str | None:
        if self._id_token is None:
            return None
        if self.clock.now().timestamp() + TOKEN_REFRESH_MARGIN_S >= self._id_token_expires_at:
            return None
        return self._id_token

    async def _authenticate(self) -> tuple[str, float]:
        body = orjson.dumps({"userName": self._username, "password": self._password})
        status, reply = await self._post(AUTHENTICATE_PATH, body, {"Content-Type": "application/json"})
        if status == 429:
            raise ProviderThrottled(self.name, "HTTP 429 from authenticate: asked us to slow down")
        if status in (401, 403):
            log.error("DVLA refused our credentials", extra={"provider_name": self.name, "status": status})
            raise DvlaUnauthorised(self.name, f"authenticate refused DVLA_USERNAME/DVLA_PASSWORD (HTTP {status}): "
                                              f"{_error_detail(reply) or 'no detail'}")
        if not 200 <= status < 300:
            raise ProviderUnavailable(self.name, f"authenticate failed with HTTP {status}")
        token, expires_at = self._read_id_token(reply)
        log.info("DVLA token refreshed", extra={"provider_name": self.name, "expires_at": expires_at})
        return token, expires_at

    def _read_id_token(self, reply: bytes) -> tuple[str, float]:
        try:
            token = orjson.loads(reply)["id-token"]
            claims = jwt.decode(token, options={"verify_signature": False})
            expires_at = claims["exp"]
        except (orjson.JSONDecodeError, jwt.PyJWTError, KeyError, TypeError):
            raise ProviderUnavailable(self.name, "authenticate replied without a readable id-token") from None
        if isinstance(expires_at, bool) or not isinstance(expires_at, int | float):
            raise ProviderUnavailable(self.name, "authenticate replied with an id-token whose exp is not a time")
        return token, float(expires_at)

    def _print_job_error(self, status: int, reply: bytes, notification_id: str) -> ProviderError:
        detail = _error_detail(reply)
        where = f"print job {notification_id}"
        if status == 400:
            return PermanentProviderError(self.name, detail or f"HTTP 400: DVLA refused {where}")
        if status in (401, 403):
            self._id_token = None  # Notify drops its cached API key here; ours is a setting, the token is not
            return DvlaUnauthorised(self.name, f"HTTP {status} for {where}: {detail or 'token or API key refused'}")
        if status == 409:
            return DvlaDuplicatePrintRequest(self.name, f"HTTP 409: DVLA already has {where}")
        if status == 429:
            return ProviderThrottled(self.name, f"HTTP 429 for {where}: asked us to slow down")
        if status >= 500:
            return ProviderUnavailable(self.name, f"HTTP {status} for {where}: server error")
        if 400 <= status < 500:
            return PermanentProviderError(self.name, f"HTTP {status} for {where}: {detail or 'refused'}")
        return ProviderUnavailable(self.name, f"HTTP {status} for {where}: unexpected; check DVLA_API_BASE_URL")

    async def _post(self, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        # Not clarion.providers.http.post_to_provider: DVLA's error bodies carry the detail a 400 is
        # failed with, and its calls need the DVLA_API_TLS_CIPHERS context; the mapping is the same.
        try:
            # No redirects: an API that redirects means DVLA_API_BASE_URL is wrong.
            async with self._session.post(self._base_url + path, data=body, headers=dict(headers),
                                          timeout=self._timeout, ssl=self._ssl, allow_redirects=False) as response:
                return response.status, await _read_capped(response)
        except TimeoutError:  # asyncio's and aiohttp's timeouts are both TimeoutErrors
            raise ProviderTimeout(self.name, f"no reply from {path} within {self._timeout.total:g}s") from None
        except aiohttp.ClientConnectorError as exc:
            raise ProviderUnavailable(self.name, f"could not connect for {path} ({type(exc).__name__})") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ProviderUnavailable(self.name, f"{path} failed ({type(exc).__name__})") from None


def dvla_client_from_settings(settings: Settings, *, session: aiohttp.ClientSession, clock: Clock,
                              metrics: ProviderMetrics = NO_METRICS) -> DvlaClient:
    """The DVLA client Settings describe; callbacks go to API_HOST_NAME with tokens signed by SECRET_KEY."""
    return DvlaClient(
        clock=clock, metrics=metrics, base_url=settings.dvla_api_base_url,
        username=settings.dvla_username.get_secret_value(), password=settings.dvla_password.get_secret_value(),
        api_key=settings.dvla_api_key.get_secret_value(), callback_host=settings.api_host_name,
        callback_tokens=LetterCallbackTokens(settings.secret_key.get_secret_value()), session=session,
        timeout_s=settings.dvla_timeout_s, ssl_context=tls_context(settings.dvla_api_tls_ciphers),
    )


def _error_detail(reply: bytes) -> str | None:
    """DVLA's own words for a failure: `errors[0].detail` (authenticate answers a bare list of errors)."""
    try:
        parsed = orjson.loads(reply)
    except orjson.JSONDecodeError:
        return None
    errors = parsed.get("errors") if isinstance(parsed, dict) else parsed
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return None
    detail = errors[0].get("detail")
    if not isinstance(detail, str) or not detail.strip():
        return None
    return detail.strip()[:MAX_DETAIL_CHARS]


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(16 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_REPLY_BYTES:
            break  # enough to read an error's detail; the rest is not ours to keep
    return b"".join(chunks)[:MAX_REPLY_BYTES]
