"""Email addresses as providers take them on the wire: ASCII, with an internationalised host IDNA-encoded.

Notify encodes only the host of an address (`local@bücher.example` -> `local@xn--bcher-kva.example`):
the local part is left alone, and clarion's recipient validation already allows only ASCII there.
A sender like `"Service name" <local@host>` keeps its display name, RFC 2047-encoded when it is not
ASCII, which is what SES asks for in `FromEmailAddress` and what an SMTP `From:` header needs.

`UnencodableAddress` never quotes the address: the messages reach logs and the database.
"""

from __future__ import annotations

import email.utils

import idna

__all__ = ["UnencodableAddress", "domain_of", "idna_address", "mailbox_header"]


class UnencodableAddress(ValueError):
    """An address no provider can take; the message says why without quoting the address."""


def idna_address(address: str) -> str:
    """`local@host` with the host IDNA-encoded; an ASCII host is returned unchanged."""
    local, at, host = address.strip().rpartition("@")
    if not at or not local or not host:
        raise UnencodableAddress("not an address of the form local@host")
    if not local.isascii():
        # Neither SES nor a plain SMTP relay (without SMTPUTF8) can carry a non-ASCII local part.
        raise UnencodableAddress("the local part is not ASCII")
    if host.isascii():
        return f"{local}@{host}"
    try:
        ascii_host = idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as error:
        raise UnencodableAddress("the host is not a valid internationalised domain name") from error
    return f"{local}@{ascii_host}"


def mailbox_header(mailbox: str) -> str:
    """`"Name" <local@host>` (or a bare address) as an ASCII header value, ready for SES or SMTP."""
    display_name, address = email.utils.parseaddr(mailbox)
    if not address:
        raise UnencodableAddress("not a mailbox of the form \"Name\" <local@host>")
    # formataddr quotes an ASCII name only when it must and RFC 2047-encodes any other.
    return email.utils.formataddr((display_name, idna_address(address)), charset="utf-8")


def domain_of(mailbox: str) -> str:
    """The ASCII host of a mailbox's address: the sending domain."""
    _, address = email.utils.parseaddr(mailbox)
    return idna_address(address).rpartition("@")[2]
