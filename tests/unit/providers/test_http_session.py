"""The HTTP plumbing the provider clients share: the pooled session (keepalive sockets, a connection
limit, a bounded timeout), the mapping of HTTP statuses onto error categories, and receipt URLs
that carry basic-auth credentials."""

from __future__ import annotations

import asyncio
import socket
import sys

import pytest

from clarion.providers.errors import (
    PermanentProviderError,
    ProviderError,
    ProviderThrottled,
    ProviderUnavailable,
)
from clarion.providers.http import error_for_status, make_http_session, require_http_url
from clarion.providers.receipt_urls import receipt_url_with_credentials, with_basic_auth
from tests.unit.providers.capture import Answer, CaptureServer


@pytest.mark.skipif(sys.platform != "linux", reason="TCP_KEEPIDLE/INTVL/CNT are Linux socket options")
def test_every_connection_the_session_opens_has_tcp_keepalive() -> None:
    async def socket_options(url: str) -> dict[str, int]:
        async with make_http_session(connections=2, timeout_s=5) as session, session.post(url) as response:
            sock = response.connection.transport.get_extra_info("socket")
            return {
                "SO_KEEPALIVE": sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                "TCP_KEEPIDLE": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                "TCP_KEEPINTVL": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                "TCP_KEEPCNT": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
            }

    # The body comes later, so the connection is still the response's while the test looks at its socket.
    with CaptureServer(Answer(body_after_s=2)) as server:
        options = asyncio.run(socket_options(server.url))
    assert options == {"SO_KEEPALIVE": 1, "TCP_KEEPIDLE": 4, "TCP_KEEPINTVL": 2, "TCP_KEEPCNT": 8}


def test_the_session_opens_no_more_connections_to_a_provider_than_allowed() -> None:
    async def post_concurrently(url: str, count: int) -> list[int]:
        async with make_http_session(connections=2, timeout_s=5) as session:
            async def post() -> int:
                async with session.post(url, data=b"x") as response:
                    await response.read()
                    return response.status
            return await asyncio.gather(*(post() for _ in range(count)))

    # Each answer is held briefly so the six requests overlap; without a limit each would get its own connection.
    with CaptureServer(Answer(delay_s=0.1)) as server:
        statuses = asyncio.run(post_concurrently(server.url, 6))
    assert statuses == [200] * 6
    assert len(server.requests) == 6
    assert server.peak_in_flight == 2  # overlapping, and capped
    assert len({request.client_port for request in server.requests}) == 2  # two connections, each reused


def test_a_request_through_the_session_gives_up_after_its_timeout() -> None:
    async def post(url: str) -> None:
        async with make_http_session(connections=2, timeout_s=0.2) as session, session.post(url) as response:
            await response.read()

    with CaptureServer(Answer(delay_s=2)) as server, pytest.raises(TimeoutError):
        asyncio.run(post(server.url))


@pytest.mark.parametrize(("connections", "timeout_s", "problem"), [
    (0, 10.0, "at least 1 connection"),
    (10, 0.0, "timeout must be positive"),
])
def test_a_session_with_an_impossible_pool_or_timeout_is_refused(connections: int, timeout_s: float,
                                                                  problem: str) -> None:
    async def make() -> None:
        make_http_session(connections=connections, timeout_s=timeout_s)

    with pytest.raises(ValueError, match=problem):
        asyncio.run(make())


@pytest.mark.parametrize(("status", "category"), [
    (200, None),
    (202, None),
    (301, ProviderUnavailable),  # a redirecting provider API means our URL setting is wrong
    (400, PermanentProviderError),
    (401, ProviderUnavailable),  # our API key is wrong: the same for every message, so a provider fault
    (403, ProviderUnavailable),
    (404, ProviderUnavailable),  # our URL is wrong
    (413, PermanentProviderError),
    (422, PermanentProviderError),
    (429, ProviderThrottled),
    (500, ProviderUnavailable),
    (502, ProviderUnavailable),
    (503, ProviderUnavailable),
])
def test_each_http_status_falls_in_the_category_that_decides_what_happens_next(
        status: int, category: type[ProviderError] | None) -> None:
    error = error_for_status("mmg", status)
    assert (type(error) if error else None) is category
    if error is not None:
        assert error.provider == "mmg"
        assert f"HTTP {status}" in str(error)


@pytest.mark.parametrize("url", ["api.mmg.co.uk/jsonv2a/api.php", "ftp://api.mmg.co.uk/", "https://", "",
                                 "//notify:s3cret@clarion.example/r"])
def test_a_provider_url_that_is_not_absolute_http_is_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(ValueError, match="MMG_URL must be an absolute http") as raised:
        require_http_url("MMG_URL", url)
    assert "s3cret" not in str(raised.value)  # receipt URLs carry a password


@pytest.mark.parametrize(("url", "user", "password", "expected"), [
    ("https://clarion.example/notifications/sms/mmg", "notify", "secret",
     "https://notify:secret@clarion.example/notifications/sms/mmg"),
    # Characters that would otherwise end the userinfo or the host are percent-encoded.
    ("https://clarion.example/notifications/sms/mmg", "no:tify", "p@ss:w/rd?#%",
     "https://no%3Atify:p%40ss%3Aw%2Frd%3F%23%25@clarion.example/notifications/sms/mmg"),
    ("http://127.0.0.1:6011/notifications/sms/firetext?x=1", "notify", "s",
     "http://notify:s@127.0.0.1:6011/notifications/sms/firetext?x=1"),
    ("http://[::1]:6011/r", "notify", "s", "http://notify:s@[::1]:6011/r"),
    ("https://old:creds@clarion.example/r", "notify", "new", "https://notify:new@clarion.example/r"),
    ("https://clarion.example/r", "notify", "pässwörd", "https://notify:p%C3%A4ssw%C3%B6rd@clarion.example/r"),
])
def test_credentials_go_into_the_receipt_url_netloc(url: str, user: str, password: str, expected: str) -> None:
    assert with_basic_auth(url, user, password) == expected


@pytest.mark.parametrize("url", ["clarion.example/notifications/sms/mmg", "mailto:notify@clarion.example",
                                 "https:///no-host"])
def test_a_receipt_url_without_scheme_or_host_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="absolute http"):
        with_basic_auth(url, "notify", "secret")


def test_an_empty_receipt_user_is_refused() -> None:
    with pytest.raises(ValueError, match="user must not be empty"):
        with_basic_auth("https://clarion.example/r", "", "secret")


def test_the_receipt_url_carries_the_first_password_only_when_there_is_one() -> None:
    url = "https://clarion.example/r"
    assert receipt_url_with_credentials(url, user="notify", passwords=["new", "old"]) == \
        "https://notify:new@clarion.example/r"
    assert receipt_url_with_credentials(url, user="notify", passwords=[]) == url
    assert receipt_url_with_credentials(None, user="notify", passwords=["new"]) is None
    assert receipt_url_with_credentials("", user="notify", passwords=["new"]) is None  # MMG_RECEIPT_URL=""
