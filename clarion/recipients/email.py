"""Email address validation with Notify's rules: a plain local part, and a host DNS would accept."""

from __future__ import annotations

import re

import idna

from clarion.recipients.errors import InvalidEmailAddress

__all__ = ["MAX_LENGTH", "validate_email_address"]

MAX_LENGTH = 320
MAX_LOCAL_LENGTH = 64  # RFC 5321: no mail server has to accept a longer local part
MAX_HOST_LENGTH = 253
MAX_LABEL_LENGTH = 63
NOT_VALID = "Not a valid email address"

_LOCAL_CHARACTERS = r"a-zA-Z0-9.!#$%&'*+/=?^_`{|}~\-"
_ADDRESS = re.compile(rf"^[{_LOCAL_CHARACTERS}]+@([^.@\s][^@\s]*)$")
_LABEL = re.compile(r"^(xn|[a-z0-9]+)(-?-[a-z0-9]+)*$", re.IGNORECASE)
_TOP_LEVEL = re.compile(r"^([a-z]{2,63}|xn--([a-z0-9]+-)*[a-z0-9]+)$", re.IGNORECASE)
# Characters people paste in by accident; they are invisible, so removing them is what was meant.
_INVISIBLE = re.compile("[\u180e\u200b\u200c\u200d\u2060\ufeff]")


def _ascii_host(host: str) -> str:
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as error:
        raise InvalidEmailAddress(NOT_VALID) from error


def validate_email_address(raw: str) -> str:
    """The address stripped, with its host lower-cased; InvalidEmailAddress if Notify would refuse it."""
    address = _INVISIBLE.sub("", raw).strip()
    match = _ADDRESS.match(address)
    if not match or len(address) > MAX_LENGTH or ".." in address:
        raise InvalidEmailAddress(NOT_VALID)
    if len(address.rpartition("@")[0]) > MAX_LOCAL_LENGTH:
        raise InvalidEmailAddress(NOT_VALID)
    host = match.group(1)
    labels = _ascii_host(host).split(".")
    if len(".".join(labels)) > MAX_HOST_LENGTH or len(labels) < 2:
        raise InvalidEmailAddress(NOT_VALID)
    if any(len(label) > MAX_LABEL_LENGTH or not _LABEL.match(label) for label in labels):
        raise InvalidEmailAddress(NOT_VALID)
    if not _TOP_LEVEL.match(labels[-1]):
        raise InvalidEmailAddress(NOT_VALID)
    local = address[: match.start(1) - 1]
    return f"{local}@{host.lower()}"
