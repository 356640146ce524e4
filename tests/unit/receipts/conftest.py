"""Receipt fixtures: a loopback HTTP server serving an SNS signing certificate, an SNS signer written
from AWS's documented format, settings with receipt tokens, and the real API app plus a worker
context on one in-memory broker."""

from __future__ import annotations

import base64
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from celery import Celery
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

with warnings.catch_warnings():  # starlette suggests httpx2; httpx is what the project installs
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from clarion.api.app import create_app
from clarion.clock import ManualClock
from clarion.config import Settings
from clarion.db.models import Complaint, Notification
from tests.conftest import START, TEST_SECRET
from tests.unit.delivery.factory import add_notification  # noqa: F401  (fixture)
from tests.unit.worker.conftest import celery_app_for, take_messages

MMG_TOKEN = "mmg-receipt-secret"
FIRETEXT_TOKEN = "firetext-receipt-secret"
CERT_PATH = "/sns/SimpleNotificationService-test.pem"
TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:ses-receipts"
SIGNED_KEYS = {  # AWS's documented order, per message type
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}


@dataclass
class Loopback:
    """An HTTP server on 127.0.0.1 that serves fixed documents and remembers every path asked for."""

    base_url: str
    documents: dict[str, tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def serve(self, path: str, body: bytes, *, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.documents[path] = (status, body, headers or {})


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    server_state: dict[str, Loopback] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  (http.server's name)
            state = server_state["loopback"]
            state.requests.append(self.path)
            status, body, headers = state.documents.get(self.path.split("?")[0], (404, b"not found", {}))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state["loopback"] = Loopback(base_url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server_state["loopback"]
    server.shutdown()
    server.server_close()


@dataclass(frozen=True)
class SigningKey:
    """An RSA key and a self-signed certificate valid around the tests' START."""

    key: rsa.RSAPrivateKey
    certificate_pem: bytes


def make_signing_key(*, valid_days: int = 365) -> SigningKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test.invalid")])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(START - timedelta(days=1)).not_valid_after(START + timedelta(days=valid_days))
                   .sign(key, hashes.SHA256()))
    return SigningKey(key, certificate.public_bytes(serialization.Encoding.PEM))


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return make_signing_key()


@pytest.fixture
def cert_server(loopback: Loopback, signing_key: SigningKey) -> Loopback:
    """The loopback server with the signing certificate at CERT_PATH."""
    loopback.serve(CERT_PATH, signing_key.certificate_pem)
    return loopback


def sign(envelope: dict[str, Any], key: rsa.RSAPrivateKey, *, version: str = "1") -> dict[str, Any]:
    """The envelope with SignatureVersion and Signature as SNS computes them."""
    signed = {**envelope, "SignatureVersion": version}
    text = "".join(f"{name}\n{signed[name]}\n" for name in SIGNED_KEYS[signed["Type"]] if name in signed)
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signed["Signature"] = base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), algorithm)).decode()
    return signed


def ses_message(notification_type: str, reference: str, *, mail_time: str = "2026-01-05T08:59:59.000Z",
                **sections: Any) -> dict[str, Any]:
    """An SES event as SES puts it inside the SNS Message (recipients included, as SES sends them)."""
    message: dict[str, Any] = {"notificationType": notification_type,
                               "mail": {"timestamp": mail_time, "messageId": reference,
                                        "source": "service@notifications.clarion.local",
                                        "destination": ["someone@example.com"]}}
    if notification_type == "Delivery":
        message["delivery"] = {"timestamp": "2026-01-05T09:00:01.000Z", "processingTimeMillis": 900,
                               "recipients": ["someone@example.com"], "smtpResponse": "250 2.0.0 OK"}
    message.update(sections)
    return message


def sns_envelope(message: dict[str, Any] | str, *, cert_url: str, key: rsa.RSAPrivateKey, version: str = "1",
                 **fields: Any) -> dict[str, Any]:
    """A signed SNS Notification carrying `message` (a dict is JSON-encoded, as SNS carries SES events)."""
    envelope = {"Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": TOPIC_ARN,
                "Message": message if isinstance(message, str) else orjson.dumps(message).decode(),
                "Timestamp": "2026-01-05T09:00:02.000Z", "SigningCertURL": cert_url,
                "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe", **fields}
    return sign(envelope, key, version=version)


def basic(user: str, password: str) -> dict[str, str]:
    """An Authorization: Basic header."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def receipt_settings(database_url: str, loopback: Loopback) -> Settings:
    """Settings with receipt tokens for both SMS providers, the loopback server as the SNS certificate host and
    TOPIC_ARN as the one SNS topic accepted."""
    return Settings(environment="test", database_url=database_url, broker_url="memory://", secret_key=TEST_SECRET,
                    redis_url=None, mmg_inbound_sms_auth=[MMG_TOKEN], firetext_inbound_sms_auth=[FIRETEXT_TOKEN],
                    sns_signing_cert_url_prefixes=[loopback.url("/sns/")], sns_topic_arns=[TOPIC_ARN])


@pytest.fixture
def celery_app(receipt_settings: Settings, clock: ManualClock) -> Iterator[Celery]:
    """A clarion app on memory:// for the receipt settings and the test clock."""
    yield from celery_app_for(receipt_settings, clock)


@pytest.fixture
def make_app(celery_app: Celery, clock: ManualClock) -> Callable[[Settings], FastAPI]:
    """The real API app for some settings, on the test broker and clock."""
    return lambda settings: create_app(settings, clock=clock, celery_app=celery_app)


@pytest.fixture
def app(make_app: Callable[[Settings], FastAPI], receipt_settings: Settings) -> FastAPI:
    return make_app(receipt_settings)


@pytest.fixture
def client(app: FastAPI, seeded: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def queued_receipts(celery_app: Celery) -> dict[str, list[dict[str, Any]]]:
    """Every receipt waiting on the receipt queues (removed from them), by queue."""
    queued: dict[str, list[dict[str, Any]]] = {}
    for queue in ("sms-callbacks", "ses-callbacks", "retry-tasks"):
        for headers, args in take_messages(celery_app, queue):
            assert headers["task"] == "process_receipts"
            queued.setdefault(queue, []).extend(args[0])
    return queued


def database_snapshot(sessions: sessionmaker[Session]) -> tuple[list[Any], list[Any]]:
    """Every notification and complaint row, to show a refused request changed nothing."""
    with sessions() as session:
        notifications = session.execute(select(Notification.__table__).order_by(Notification.id)).all()
        complaints = session.execute(select(Complaint.__table__).order_by(Complaint.id)).all()
    return notifications, complaints
