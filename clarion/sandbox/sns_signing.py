"""SNS HTTP messages signed the way AWS signs them, with a certificate the sandbox makes at start.

The string to sign is "<Key>\\n<Value>\\n" for the message's keys in AWS's order (Subject only when
present); SignatureVersion "1" signs it with SHA1withRSA, "2" with SHA256withRSA (PKCS#1 v1.5), and
the base64 signature is checked with the public key of the certificate at SigningCertURL, which
the sandbox serves at /_sandbox/sns/certificate.pem. The key lives only in this process's memory.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

__all__ = ["CERTIFICATE_PATH", "SnsSigner", "sns_timestamp", "string_to_sign"]

CERTIFICATE_PATH = "/_sandbox/sns/certificate.pem"
NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
CERTIFICATE_DAYS = 365


def string_to_sign(message: Mapping[str, str]) -> bytes:
    """The bytes AWS signs for an SNS message of any Type."""
    keys = NOTIFICATION_KEYS if message.get("Type") == "Notification" else CONFIRMATION_KEYS
    return "".join(f"{key}\n{message[key]}\n" for key in keys if key in message).encode()


def sns_timestamp(moment: datetime) -> str:
    """An SNS Timestamp: ISO 8601 UTC with milliseconds, e.g. 2026-11-22T10:00:00.000Z."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class SnsSigner:
    """Signs SNS messages for one topic with a fresh self-signed RSA certificate."""

    def __init__(self, *, certificate_url: str, unsubscribe_url: str, topic_arn: str, now: datetime,
                 signature_version: str = "1", key_size: int = 2048) -> None:
        if signature_version not in HASHES:
            raise ValueError(f"SNS SignatureVersion must be one of {sorted(HASHES)}, got {signature_version!r}")
        self.certificate_url, self.topic_arn = certificate_url, topic_arn
        self.signature_version = signature_version
        self._unsubscribe_url = unsubscribe_url
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        self.certificate_pem = _self_signed_certificate(self._key, now).public_bytes(serialization.Encoding.PEM)

    def notification(self, message: str, *, at: datetime, subject: str | None = None) -> dict[str, str]:
        """A signed Notification carrying `message` (for SES events, a JSON string)."""
        fields = {"Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": self.topic_arn}
        if subject is not None:
            fields["Subject"] = subject
        fields.update({"Message": message, "Timestamp": sns_timestamp(at)})
        signed = self.sign(fields)
        signed["UnsubscribeURL"] = self._unsubscribe_url
        return signed

    def sign(self, fields: Mapping[str, str]) -> dict[str, str]:
        """`fields` plus SignatureVersion, Signature and SigningCertURL."""
        signature = self._key.sign(string_to_sign(fields), padding.PKCS1v15(), HASHES[self.signature_version]())
        return {**fields, "SignatureVersion": self.signature_version,
                "Signature": base64.b64encode(signature).decode("ascii"), "SigningCertURL": self.certificate_url}


def _self_signed_certificate(key: rsa.RSAPrivateKey, now: datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.sandbox.clarion.local"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "clarion sandbox")])
    return (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=CERTIFICATE_DAYS))
            .sign(key, hashes.SHA256()))
