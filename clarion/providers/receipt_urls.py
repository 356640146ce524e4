"""Receipt URLs with basic-auth credentials in them, so a provider's receipts authenticate themselves.

MMG and Firetext post delivery receipts to the URL we hand them with each message. They cannot be
given a header, so the credentials travel in the URL (`https://user:password@host/...`) and the
provider turns them into an `Authorization: Basic` header; clarion's receipt endpoints check the
password against MMG_INBOUND_SMS_AUTH / FIRETEXT_INBOUND_SMS_AUTH.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote, urlsplit, urlunsplit

__all__ = ["receipt_url_with_credentials", "with_basic_auth"]


def with_basic_auth(url: str, user: str, password: str) -> str:
    """`url` with `user:password@` in its netloc, percent-encoded; any credentials already there are replaced."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"a receipt URL must be an absolute http(s) URL with a host, got {parts.scheme or 'no'} "
                         "scheme")
    if not user:
        raise ValueError("the receipt URL's basic-auth user must not be empty")
    host_and_port = parts.netloc.rpartition("@")[2]
    # safe="" so ":", "@" and "/" in a password cannot change where the URL points.
    userinfo = f"{quote(user, safe='')}:{quote(password, safe='')}"
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host_and_port}"))


def receipt_url_with_credentials(url: str | None, *, user: str, passwords: Sequence[str]) -> str | None:
    """The receipt URL to hand a provider: none (None or "") is None; with passwords, the first goes into the URL.

    `passwords` is the receipt endpoint's list (MMG_INBOUND_SMS_AUTH, FIRETEXT_INBOUND_SMS_AUTH); a list,
    so that old and new passwords can both be accepted while rotating.
    """
    if not url:
        return None
    if not passwords:
        return url
    return with_basic_auth(url, user, passwords[0])
