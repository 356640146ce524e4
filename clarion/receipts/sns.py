"""Verify Amazon SNS HTTP messages (how SES receipts arrive) and confirm subscriptions.

AWS's documented scheme, as /work/notes/sns-format.md restates it: the string to sign is
"<Key>\\n<Value>\\n" for a fixed list of keys per message type, signed with RSA PKCS#1 v1.5 over SHA1
(SignatureVersion "1") or SHA256 ("2") by the key of the X.509 certificate at SigningCertURL.

Trust rests on the certificate URL: it must start with one of SNS_SIGNING_CERT_URL_PREFIXES
(scheme, host and port compared exactly, then the path prefix), is fetched without following
redirects, and the certificate must be valid now. Certificates are cached by URL (AWS gives each
certificate its own URL), a fetch at a time per URL, so a burst of receipts costs one download and
then one RSA verification each. A SubscriptionConfirmation is confirmed by fetching its SubscribeURL
only after its signature verified, and only if that URL passes the same allow-list.

A valid signature only proves that *some* SNS topic sent the message: anyone with an AWS account can
make a topic, subscribe clarion's endpoint to it and publish. So every message must also come from a
topic in SNS_TOPIC_ARNS (compared exactly, before any certificate is fetched); an empty list refuses
every message, which the verifier says once, when it is built.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from clarion.clock import Clock
from clarion.receipts.parse import MalformedReceipt

__all__ = [
    "CertificateCache", "SIGNED_FIELDS", "SnsError", "SnsUnavailable", "SnsVerifier", "SignatureMissing",
    "SignatureRejected", "TopicNotAllowed", "cert_url_allowed", "fetch_url", "parse_envelope", "string_to_sign",
]

log = logging.getLogger(__name__)

NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"
_CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
SIGNED_FIELDS: Mapping[str, tuple[str, ...]] = {
    NOTIFICATION: ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    SUBSCRIPTION_CONFIRMATION: _CONFIRMATION_FIELDS,
    UNSUBSCRIBE_CONFIRMATION: _CONFIRMATION_FIELDS,
}
OPTIONAL_FIELDS = frozenset({"Subject"})
HASHES: Mapping[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
FETCH_TIMEOUT_S = 10.0
MAX_FETCH_BYTES = 64 * 1024  # a PEM certificate is a few KiB

Fetch = Callable[[str], Awaitable[bytes]]


class SnsError(Exception):
    """An SNS message that cannot be accepted; `status_code` is the HTTP answer, str() the message."""

    status_code = 403


class SignatureMissing(SnsError):
    """No Signature, SignatureVersion or SigningCertURL: no credentials at all."""

    status_code = 401


class SignatureRejected(SnsError):
    """The signature, its version or its certificate is not acceptable."""


class TopicNotAllowed(SnsError):
    """The message comes from a topic that is not in SNS_TOPIC_ARNS (or that list is empty)."""


class SnsUnavailable(SnsError):
    """A certificate or SubscribeURL could not be fetched just now; SNS retries a 5xx."""

    status_code = 503


def parse_envelope(body: bytes, message_type_header: str | None = None) -> dict[str, str]:
    """The SNS message as a dict of strings; MalformedReceipt (400) or SignatureMissing (401) if it cannot be one."""
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedReceipt("SES callback failed: the body is not JSON") from None
    if not isinstance(envelope, dict):
        raise MalformedReceipt("SES callback failed: the body must be a JSON object")
    kind = envelope.get("Type")
    if kind not in SIGNED_FIELDS:
        raise MalformedReceipt(f"SES callback failed: Type {kind!r} is not an SNS message type")
    if message_type_header and message_type_header != kind:
        raise MalformedReceipt(f"SES callback failed: x-amz-sns-message-type {message_type_header!r} "
                               f"does not match Type {kind!r}")
    if "SigningCertURL" not in envelope and "SigningCertUrl" in envelope:  # the spelling SQS deliveries use
        envelope["SigningCertURL"] = envelope.pop("SigningCertUrl")
    if any(not envelope.get(name) for name in ("Signature", "SignatureVersion", "SigningCertURL")):
        raise SignatureMissing("Unauthorized: the SNS message must carry Signature, SignatureVersion "
                               "and SigningCertURL")
    for name in (*SIGNED_FIELDS[kind], "Signature", "SignatureVersion", "SigningCertURL"):
        if name not in envelope and name in OPTIONAL_FIELDS:
            continue
        if not isinstance(envelope.get(name), str):
            raise MalformedReceipt(f"SES callback failed: {name} missing")
    return envelope


def string_to_sign(envelope: Mapping[str, Any]) -> bytes:
    """The bytes SNS signed: "<Key>\\n<Value>\\n" for each signed key of the message's type that is present."""
    parts = []
    for name in SIGNED_FIELDS[envelope["Type"]]:
        if name in envelope:
            parts.append(f"{name}\n{envelope[name]}\n")
    return "".join(parts).encode()


def cert_url_allowed(url: str, prefixes: Sequence[str]) -> bool:
    """Whether `url` lies under one of the prefixes: same scheme, host and port, path starting with theirs."""
    try:
        candidate = urlsplit(url)
        port = candidate.port
    except ValueError:
        return False
    if candidate.username is not None or candidate.password is not None or candidate.fragment:
        return False
    for prefix in prefixes:
        allowed = urlsplit(prefix)
        if (candidate.scheme, candidate.hostname, port) == (allowed.scheme, allowed.hostname, allowed.port) \
                and candidate.path.startswith(allowed.path or "/"):
            return True
    return False


async def fetch_url(url: str) -> bytes:
    """GET a small document over HTTP(S), without redirects; SnsUnavailable if it fails."""
    timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, \
                session.get(url, allow_redirects=False) as response:
            if response.status != 200:
                raise SnsUnavailable(f"could not fetch {url}: HTTP {response.status}")
            body = await response.content.read(MAX_FETCH_BYTES + 1)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SnsUnavailable(f"could not fetch {url}: {type(exc).__name__}") from None
    if len(body) > MAX_FETCH_BYTES:
        raise SnsUnavailable(f"{url} is larger than {MAX_FETCH_BYTES} bytes")
    return body


class CertificateCache:
    """Public keys of signing certificates by URL, fetched once each; at most `max_entries` kept."""

    def __init__(self, *, fetch: Fetch, clock: Clock, max_entries: int = 16) -> None:
        self._fetch, self._clock, self.max_entries = fetch, clock, max_entries
        self._keys: dict[str, tuple[rsa.RSAPublicKey, datetime]] = {}  # url -> (key, not valid after)
        self._loading: dict[str, asyncio.Task[tuple[rsa.RSAPublicKey, datetime]]] = {}
        self.fetches = 0  # downloads made; for tests and metrics

    async def public_key(self, url: str) -> rsa.RSAPublicKey:
        """The RSA key of the certificate at `url`, while it is valid; SignatureRejected / SnsUnavailable."""
        entry = self._keys.get(url)
        if entry is None:
            entry = await asyncio.shield(self._start_loading(url))
        key, not_after = entry
        if self._clock.now() > not_after:
            self._keys.pop(url, None)
            raise SignatureRejected("Forbidden: the SNS signing certificate has expired")
        return key

    def _start_loading(self, url: str) -> asyncio.Task[tuple[rsa.RSAPublicKey, datetime]]:
        task = self._loading.get(url)
        if task is None:  # one download per URL however many receipts wait for it
            task = asyncio.get_running_loop().create_task(self._load(url))
            self._loading[url] = task
            task.add_done_callback(lambda _: self._loading.pop(url, None))
        return task

    async def _load(self, url: str) -> tuple[rsa.RSAPublicKey, datetime]:
        self.fetches += 1
        pem = await self._fetch(url)
        try:
            certificate = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise SignatureRejected("Forbidden: SigningCertURL does not hold a PEM X.509 certificate") from None
        now = self._clock.now()
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise SignatureRejected("Forbidden: the SNS signing certificate is not valid now")
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise SignatureRejected("Forbidden: the SNS signing certificate does not hold an RSA key")
        if len(self._keys) >= self.max_entries:
            self._keys.pop(next(iter(self._keys)))
        entry = (key, certificate.not_valid_after_utc)
        self._keys[url] = entry
        log.info("cached an SNS signing certificate", extra={"url": url})
        return entry


class SnsVerifier:
    """Checks SNS messages against the certificate URL allow-list and confirms subscriptions."""

    def __init__(self, *, cert_url_prefixes: Sequence[str], topic_arns: Sequence[str], clock: Clock,
                 fetch: Fetch = fetch_url) -> None:
        self.cert_url_prefixes = list(cert_url_prefixes)
        self.topic_arns = frozenset(topic_arns)
        self._fetch = fetch
        self.certificates = CertificateCache(fetch=fetch, clock=clock)
        if not self.topic_arns:  # built once per API process, so this is said once
            log.warning("SNS_TOPIC_ARNS is empty: every SES receipt and SNS subscription will be refused; "
                        "set it to the ARNs of the topics your SES configuration publishes to",
                        extra={"setting": "SNS_TOPIC_ARNS"})

    async def verify(self, envelope: Mapping[str, str]) -> None:
        """Return if SNS signed this message for a listed topic; TopicNotAllowed or SignatureRejected (403),
        SnsUnavailable (503) if that is not shown."""
        self._check_topic(envelope)
        url = envelope["SigningCertURL"]
        if not cert_url_allowed(url, self.cert_url_prefixes):
            log.warning("SNS message refused: certificate URL outside the allow-list", extra={"url": url[:200]})
            raise SignatureRejected("Forbidden: SigningCertURL is not an allowed SNS certificate location")
        algorithm = HASHES.get(envelope["SignatureVersion"])
        if algorithm is None:
            raise SignatureRejected(f"Forbidden: SignatureVersion {envelope['SignatureVersion'][:8]!r} "
                                    f"is not 1 or 2")
        try:
            signature = base64.b64decode(envelope["Signature"], validate=True)
        except (binascii.Error, ValueError):
            raise SignatureRejected("Forbidden: Signature is not base64") from None
        key = await self.certificates.public_key(url)
        try:
            key.verify(signature, string_to_sign(envelope), padding.PKCS1v15(), algorithm())
        except InvalidSignature:
            log.warning("SNS message refused: bad signature", extra={"message_id": envelope["MessageId"][:100]})
            raise SignatureRejected("Forbidden: the SNS signature does not match the message") from None

    async def confirm_subscription(self, envelope: Mapping[str, str]) -> None:
        """Visit the SubscribeURL of a verified SubscriptionConfirmation for a listed topic, if the URL lies
        inside the allow-list."""
        self._check_topic(envelope)
        url = envelope["SubscribeURL"]
        if not cert_url_allowed(url, self.cert_url_prefixes):
            log.warning("SNS subscription not confirmed: SubscribeURL outside the allow-list",
                        extra={"url": url[:200], "topic_arn": envelope["TopicArn"][:256]})
            raise SignatureRejected("Forbidden: SubscribeURL is not an allowed SNS location")
        await self._fetch(url)
        log.info("confirmed an SNS subscription", extra={"topic_arn": envelope["TopicArn"][:256]})

    def _check_topic(self, envelope: Mapping[str, str]) -> None:
        if not self.topic_arns:
            raise TopicNotAllowed("Forbidden: SES receipts are not accepted: no SNS topics are configured "
                                  "(SNS_TOPIC_ARNS)")
        if envelope["TopicArn"] not in self.topic_arns:
            log.warning("SNS message refused: topic not in SNS_TOPIC_ARNS", extra={
                "topic_arn": envelope["TopicArn"][:256], "sns_type": envelope["Type"]})
            raise TopicNotAllowed("Forbidden: TopicArn is not one of the SNS topics clarion accepts")
