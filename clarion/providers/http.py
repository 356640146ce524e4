"""HTTP for the provider clients: one pooled aiohttp session per process, and the one place where
aiohttp's failures and the providers' HTTP statuses become clarion's provider error categories.

The worker keeps hundreds of provider calls in flight on one event loop, so every call shares one
session (one connection pool) made by `make_http_session`. Its sockets use TCP keepalive so a
connection a provider or a NAT silently dropped is noticed within about 20 s (4 s idle, then 8
probes 2 s apart) instead of hanging until the request times out.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Mapping
from urllib.parse import urlsplit

import aiohttp
from aiohappyeyeballs import AddrInfoType

from clarion.providers.errors import (
    PermanentProviderError,
    ProviderError,
    ProviderThrottled,
    ProviderTimeout,
    ProviderUnavailable,
)

__all__ = [
    "error_for_status",
    "keepalive_socket",
    "make_http_session",
    "post_to_provider",
    "request_timeout",
    "require_http_url",
]

# (level, option, value) set on every socket the session opens; the TCP_KEEP* ones exist on Linux.
KEEPALIVE_OPTIONS: tuple[tuple[int, int, int], ...] = ((socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),)
if sys.platform == "linux":
    KEEPALIVE_OPTIONS += (
        (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 4),
        (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 2),
        (socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 8),
    )

# A provider that has not accepted a TCP connection in this long is down, whatever the request timeout.
MAX_CONNECT_S = 5.0
# Provider replies are a few dozen bytes; anything this large is not a reply we can use.
MAX_REPLY_BYTES = 64 * 1024
# 4xx statuses that mean our configuration (key, URL) is wrong, not this message: every message sent
# to this provider would fail the same way, so it is a fault against the provider and the message is
# retried (and so, by routing, moves to another provider) rather than failed for good.
CONFIGURATION_STATUSES = frozenset({401, 403, 404})


def keepalive_socket(addr_info: AddrInfoType) -> socket.socket:
    """A socket for one of the session's connections, with TCP keepalive switched on."""
    family, type_, proto, _, _ = addr_info
    sock = socket.socket(family=family, type=type_, proto=proto)
    for level, option, value in KEEPALIVE_OPTIONS:
        sock.setsockopt(level, option, value)
    return sock


def request_timeout(timeout_s: float) -> aiohttp.ClientTimeout:
    """The whole request within `timeout_s`; the TCP connect within MAX_CONNECT_S, or `timeout_s` if shorter."""
    if timeout_s <= 0:
        raise ValueError(f"a provider timeout must be positive, got {timeout_s}")
    return aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(timeout_s, MAX_CONNECT_S))


def make_http_session(*, connections: int, timeout_s: float) -> aiohttp.ClientSession:
    """The process's pooled session for provider calls; call it on the event loop that will use it.

    `connections` bounds the open connections to each provider (the limit is per host and port, so
    MMG and Firetext each get their own). Whoever makes the session closes it (`await session.close()`).
    """
    if connections < 1:
        raise ValueError(f"a provider connection pool needs at least 1 connection, got {connections}")
    timeout = request_timeout(timeout_s)
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=connections, socket_factory=keepalive_socket)
    return aiohttp.ClientSession(connector=connector, timeout=timeout)


def require_http_url(setting: str, url: str) -> str:
    """`url` if it is an absolute http(s) URL; a ValueError naming the setting otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # Not the URL itself: a receipt URL carries a password.
        raise ValueError(f"{setting} must be an absolute http(s) URL such as https://host/path; "
                         f"got scheme {parts.scheme!r} and host {parts.hostname!r}")
    return url


async def post_to_provider(session: aiohttp.ClientSession, *, provider: str, url: str, body: bytes,
                           headers: Mapping[str, str], timeout: aiohttp.ClientTimeout) -> bytes:
    """POST `body` and return the 2xx reply's body; any other outcome raises a ProviderError category."""
    try:
        # No redirects: a provider API that redirects means our URL setting is wrong.
        async with session.post(url, data=body, headers=headers, timeout=timeout,
                                allow_redirects=False) as response:
            error = error_for_status(provider, response.status)
            if error is not None:
                raise error
            return await _read_reply(provider, response)
    except TimeoutError:  # asyncio's and aiohttp's timeouts are TimeoutErrors too
        raise ProviderTimeout(provider, f"no reply within {timeout.total:g}s") from None
    except aiohttp.ClientConnectorError as exc:
        raise ProviderUnavailable(provider, f"could not connect ({type(exc.os_error).__name__})") from None
    except aiohttp.ServerDisconnectedError:
        raise ProviderUnavailable(provider, "closed the connection without replying") from None
    except aiohttp.ClientPayloadError:
        raise ProviderUnavailable(provider, "closed the connection part-way through its reply") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise ProviderUnavailable(provider, f"request failed ({type(exc).__name__})") from None


def error_for_status(provider: str, status: int) -> ProviderError | None:
    """The category a reply's HTTP status falls in; None for 2xx."""
    if 200 <= status < 300:
        return None
    if status == 429:
        return ProviderThrottled(provider, "HTTP 429: asked us to slow down")
    if status in CONFIGURATION_STATUSES:
        return ProviderUnavailable(provider, f"HTTP {status}: check this provider's API key and URL settings")
    if 400 <= status < 500:
        return PermanentProviderError(provider, f"HTTP {status}: rejected the message")
    if status >= 500:
        return ProviderUnavailable(provider, f"HTTP {status}: server error")
    return ProviderUnavailable(provider, f"HTTP {status}: unexpected status; check this provider's URL setting")


async def _read_reply(provider: str, response: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(16 * 1024):
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise ProviderUnavailable(provider, f"reply larger than {MAX_REPLY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
