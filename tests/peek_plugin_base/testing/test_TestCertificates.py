"""makeTestPki writes a CA-signed server and client certificate with matching keys."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from peek_plugin_base.testing.TestCertificates import TestPki, makeTestPki


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _publicKeyPem(key) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """One PKI for a host name and an address, written once for this module."""
    return makeTestPki(tmp_path_factory.mktemp("pki"), ("peek.test", "10.1.2.3"), "peek-worker")


def test_server_and_client_certificates_are_signed_by_the_ca(pki: TestPki) -> None:
    """The server and client certificates verify against caCert."""
    ca = _cert(pki.caCert)
    _cert(pki.serverCert).verify_directly_issued_by(ca)
    _cert(pki.clientCert).verify_directly_issued_by(ca)


def test_other_ca_signed_neither_certificate(pki: TestPki) -> None:
    """The server certificate does not verify against otherCaCert."""
    with pytest.raises((InvalidSignature, ValueError)):
        _cert(pki.serverCert).verify_directly_issued_by(_cert(pki.otherCaCert))


def test_server_certificate_names_every_host(pki: TestPki) -> None:
    """serverHosts become DNS and IP subject alternative names, for server auth only."""
    cert = _cert(pki.serverCert)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["peek.test"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.1.2.3")]
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_client_certificate_carries_the_client_name(pki: TestPki) -> None:
    """The client certificate's common name is clientName, for client auth only."""
    cert = _cert(pki.clientCert)
    assert cert.subject.rfc4514_string() == "CN=peek-worker"
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]


@pytest.mark.parametrize(
    ("certName", "keyName"), [("serverCert", "serverKey"), ("clientCert", "clientKey")]
)
def test_each_key_file_matches_its_certificate(pki: TestPki, certName: str, keyName: str) -> None:
    """Each private key file holds the key of its certificate."""
    key = serialization.load_pem_private_key(getattr(pki, keyName).read_bytes(), password=None)
    cert = _cert(getattr(pki, certName))
    assert _publicKeyPem(key) == cert.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_no_server_host_is_refused(tmp_path: Path) -> None:
    """An empty serverHosts raises ValueError instead of writing an unusable certificate."""
    with pytest.raises(ValueError, match="server host"):
        makeTestPki(tmp_path, serverHosts=())
    assert list(tmp_path.iterdir()) == []


def test_peek_test_pki_fixture_serves_loopback(peekTestPki: TestPki) -> None:
    """The peekTestPki fixture's server certificate names 127.0.0.1 and localhost."""
    sans = _cert(peekTestPki.serverCert).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert sans.value.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert sans.value.get_values_for_type(x509.DNSName) == ["localhost"]
