"""SmtpSender over STARTTLS and implicit TLS with login, against aiosmtpd on loopback.

The server certificate is self-signed for 127.0.0.1 and trusted through
SSL_CERT_FILE, which `ssl.create_default_context()` reads. The sender
therefore verifies it with its production code, unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import ssl
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from loansyncro.config import Settings
from services.notifier.channels import DeliveryFailed, SmtpSender
from services.notifier.render import render
from tests.fakes.smtp import FakeSmtpServer

pytestmark = [pytest.mark.integration]

CREDENTIALS = ("mailer", "correct horse")
MESSAGE = render({"kind": "test"}, "en")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1 and its key; return their paths."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def server_context(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    cert_path, key_path = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


@contextmanager
def serve(**options: object) -> Iterator[FakeSmtpServer]:
    server = FakeSmtpServer(**options).start()  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


def sender_for(settings: Settings, server: FakeSmtpServer, security: str, password: str = CREDENTIALS[1]) -> SmtpSender:
    return SmtpSender(
        dataclasses.replace(
            settings,
            smtp_host=server.host,
            smtp_port=server.port,
            smtp_security=security,
            smtp_username=CREDENTIALS[0],
            smtp_password=password,
            smtp_timeout_seconds=5.0,
        )
    )


def test_starttls_with_login_delivers(settings, server_context):
    with serve(tls_context=server_context, credentials=CREDENTIALS) as server:
        sender_for(settings, server, "starttls").send("ana@example.com", MESSAGE, uuid.uuid4())

        assert server.authenticated == [CREDENTIALS[0]]
        assert [item.recipients for item in server.received] == [["ana@example.com"]]


def test_implicit_tls_with_login_delivers(settings, server_context):
    with serve(tls_context=server_context, implicit_tls=True, credentials=CREDENTIALS) as server:
        sender_for(settings, server, "tls").send("ana@example.com", MESSAGE, uuid.uuid4())

        assert len(server.received) == 1


def test_wrong_password_is_retried_not_sent(settings, server_context):
    with serve(tls_context=server_context, credentials=CREDENTIALS) as server:
        with pytest.raises(DeliveryFailed) as failure:
            sender_for(settings, server, "starttls", password="wrong").send("ana@example.com", MESSAGE, uuid.uuid4())

        assert failure.value.code == "smtp-535"
        assert failure.value.permanent is False
        assert server.received == []


def test_untrusted_certificate_is_rejected(settings, server_context, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE")
    with serve(tls_context=server_context, credentials=CREDENTIALS) as server:
        with pytest.raises(DeliveryFailed) as failure:
            sender_for(settings, server, "starttls").send("ana@example.com", MESSAGE, uuid.uuid4())

        assert failure.value.code == "smtp-unavailable"
        assert "CERTIFICATE_VERIFY_FAILED" in failure.value.detail
        assert server.received == []
