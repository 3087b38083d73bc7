"""Fixtures for the service vortex tests: service contexts in a temp home, a PKI."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from peek_platform.process.context import ServiceContext


@pytest.fixture
def makeCtx(peekServiceContext: Callable[..., ServiceContext]) -> Callable[..., ServiceContext]:
    """``makeCtx(spec, plugins=("peek_plugin_a",), **dataExchange)``: a context in a tmp home."""
    return lambda spec, plugins=("peek_plugin_a",), **dataExchange: peekServiceContext(
        spec, {"dataExchange": dataExchange}, plugins
    )


@dataclass(frozen=True)
class Pki:
    """PEM files of a throw-away CA with a server and a client certificate."""

    caCert: Path
    serverCert: Path
    serverKey: Path
    clientCert: Path
    clientKey: Path


def _write(path: Path, cert=None, key=None) -> Path:
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return path


def _cert(subject, key, issuer, issuerKey, *, ca, san=None, usage=None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuerKey, hashes.SHA256())


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Pki:
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    d = tmp_path_factory.mktemp("dx-pki")
    caKey, serverKey, clientKey = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _cert("dx CA", caKey, "dx CA", caKey, ca=True)
    server = _cert(
        "127.0.0.1",
        serverKey,
        "dx CA",
        caKey,
        ca=False,
        san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
    )
    client = _cert(
        "peek-agent-service",
        clientKey,
        "dx CA",
        caKey,
        ca=False,
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
    )
    return Pki(
        caCert=_write(d / "ca.pem", ca),
        serverCert=_write(d / "server.pem", server),
        serverKey=_write(d / "server.key", key=serverKey),
        clientCert=_write(d / "client.pem", client),
        clientKey=_write(d / "client.key", key=clientKey),
    )
