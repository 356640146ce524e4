"""A delivery receipt ready to post: where it goes, with which credentials, and its exact bytes.

MMG and Firetext are handed a receipt URL with each message, credentials embedded
(`https://user:password@host/...`); like the real providers the sandbox takes them out of the URL and
sends them as an `Authorization: Basic` header. Without a URL a provider uses the one configured on
its side: here `{API_HOST_NAME}/notifications/sms/<provider>`, with clarion's receipt credentials.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

__all__ = ["BadReceiptUrl", "ReceiptPost", "ReceiptTarget", "basic_authorization", "provider_local_time",
           "receipt_target"]

UK = ZoneInfo("Europe/London")


class BadReceiptUrl(ValueError):
    """A receipt URL the provider cannot post to."""


@dataclass(frozen=True)
class ReceiptTarget:
    """Where a receipt goes: a URL without credentials, and the basic-auth pair taken out of it."""

    url: str
    auth: tuple[str, str] | None = None


@dataclass(frozen=True)
class ReceiptPost:
    """One receipt POST; `then` is posted after this one is done (SES: a complaint after the delivery)."""

    provider: str
    target: ReceiptTarget
    body: bytes
    headers: dict[str, str]
    then: ReceiptPost | None = None
    attempt: int = field(default=0, compare=False)


def receipt_target(url: str | None, *, fallback: ReceiptTarget) -> ReceiptTarget:
    """The target for a receipt URL a message carried, or `fallback` when it carried none."""
    if not url:
        return fallback
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadReceiptUrl("the receipt URL must be an absolute http(s) URL")
    auth = None
    if parts.username is not None:
        auth = (unquote(parts.username), unquote(parts.password or ""))
    host_and_port = parts.netloc.rpartition("@")[2]
    return ReceiptTarget(urlunsplit(parts._replace(netloc=host_and_port)), auth)


def basic_authorization(user: str, password: str) -> str:
    """The `Authorization` header value for HTTP Basic credentials (UTF-8, as aiohttp and browsers send them)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def provider_local_time(moment: datetime) -> str:
    """`moment` as MMG and Firetext write times in receipts: UK local time, no offset."""
    return moment.astimezone(UK).strftime("%Y-%m-%d %H:%M:%S")
