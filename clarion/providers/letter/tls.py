"""DVLA_API_TLS_CIPHERS: the TLS context for DVLA calls, restricted to the ciphers the setting names.

Unset means OpenSSL's defaults. As with Notify's urllib3 context, the list governs TLS 1.2 and
below; TLS 1.3 suites are configured separately by OpenSSL and are not narrowed by it.
"""

from __future__ import annotations

import ssl

__all__ = ["tls_context"]


def tls_context(ciphers: str | None) -> ssl.SSLContext | None:
    """A verifying client context limited to `ciphers` (OpenSSL cipher-list syntax); None when unset."""
    if not ciphers:
        return None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    try:
        context.set_ciphers(ciphers)
    except ssl.SSLError:
        raise ValueError(f"DVLA_API_TLS_CIPHERS {ciphers!r} names no cipher this OpenSSL supports") from None
    return context
