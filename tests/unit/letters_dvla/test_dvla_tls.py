"""DVLA_API_TLS_CIPHERS: the client's TLS context offers only the named ciphers, shown both on the
context and in a real handshake with a loopback HTTPS server that accepts a single TLS 1.2 cipher."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from clarion.clock import ManualClock, SystemClock
from clarion.providers.errors import ProviderUnavailable
from clarion.providers.letter import DvlaClient, LetterCallbackTokens
from clarion.providers.letter.dvla import PRINT_JOBS_PATH
from clarion.providers.letter.tls import tls_context
from tests.conftest import START
from tests.unit.letters_dvla.capture import CaptureServer
from tests.unit.letters_dvla.samples import JOB, PDF

SERVER_CIPHER = "ECDHE-RSA-AES256-GCM-SHA384"
OTHER_CIPHER = "ECDHE-RSA-AES128-GCM-SHA256"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as files."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dvla.test")])
    now = SystemClock().now()  # a certificate's validity is checked against the real time
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_no_setting_means_no_restriction() -> None:
    assert tls_context(None) is None
    assert tls_context("") is None


def test_the_context_offers_only_the_named_tls12_ciphers() -> None:
    context = tls_context(f"{SERVER_CIPHER}:{OTHER_CIPHER}")
    assert context is not None
    below_tls13 = {c["name"] for c in context.get_ciphers() if c["protocol"] != "TLSv1.3"}
    assert below_tls13 == {SERVER_CIPHER, OTHER_CIPHER}
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_a_cipher_list_openssl_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="DVLA_API_TLS_CIPHERS"):
        tls_context("NO-SUCH-CIPHER")


def send_over_tls(certificate: tuple[Path, Path], client_ciphers: str) -> CaptureServer:
    cert_file, key_file = certificate
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.maximum_version = ssl.TLSVersion.TLSv1_2  # TLS 1.3 suites ignore cipher lists
    server_context.set_ciphers(SERVER_CIPHER)
    server_context.load_cert_chain(cert_file, key_file)
    client_context = tls_context(client_ciphers)
    assert client_context is not None
    client_context.load_verify_locations(cafile=cert_file)  # trust the test certificate, nothing else changes

    async def scenario() -> CaptureServer:
        server = CaptureServer()
        base_url = await server.start(server_context)
        try:
            async with aiohttp.ClientSession() as session:
                client = DvlaClient(clock=ManualClock(START), base_url=base_url, username="u", password="p",
                                    api_key="k", callback_host="https://api.example",
                                    callback_tokens=LetterCallbackTokens("s"), session=session, timeout_s=10,
                                    ssl_context=client_context)
                await client.send_letter(JOB, PDF)
        finally:
            await server.close()
        return server
    return asyncio.run(scenario())


def test_a_server_offering_a_listed_cipher_gets_the_print_job(certificate: tuple[Path, Path]) -> None:
    server = send_over_tls(certificate, f"{OTHER_CIPHER}:{SERVER_CIPHER}")
    assert len(server.to(PRINT_JOBS_PATH)) == 1


def test_a_server_offering_only_an_unlisted_cipher_is_never_sent_anything(certificate: tuple[Path, Path]) -> None:
    with pytest.raises(ProviderUnavailable, match="could not connect"):
        send_over_tls(certificate, OTHER_CIPHER)
