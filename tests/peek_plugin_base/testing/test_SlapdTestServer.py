"""Tests for peek_plugin_base/testing/SlapdTestServer.py: a real throwaway OpenLDAP slapd."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from peek_plugin_base.testing import SlapdTestServer as slapdModule
from peek_plugin_base.testing.FreePort import freeTcpPortBlock
from peek_plugin_base.testing.SlapdTestServer import (
    ROOT_DN,
    SUFFIX,
    SlapdNotInstalled,
    SlapdTestServer,
)

PERSON = (
    "dn: uid=alice,{base}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n"
    "uid: alice\ncn: Alice\nsn: Smith\nuidNumber: 1000\ngidNumber: 1000\n"
    "homeDirectory: /home/alice\nuserPassword: alice-pw\n"
)


def _search(server: SlapdTestServer, base: str, search: str, *attributes: str) -> str:
    """Anonymous ``ldapsearch``: the LDIF found (``AssertionError`` if it fails)."""
    found = subprocess.run(
        ["ldapsearch", "-LLL", "-x", "-H", server.url, "-b", base, search, *attributes],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert found.returncode == 0, found.stderr
    return found.stdout


def _whoami(
    server: SlapdTestServer,
    dn: str,
    password: str,
    url: str | None = None,
    caCert: Path | None = None,
) -> subprocess.CompletedProcess:
    """``ldapwhoami`` bound as ``dn``: exit 0 and the identity, or the server's refusal."""
    env = {**os.environ, "LDAPTLS_CACERT": str(caCert)} if caCert else None
    return subprocess.run(
        ["ldapwhoami", "-x", "-H", url or server.url, "-D", dn, "-w", password],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=env,
    )


def test_server_starts_takes_entries_and_stops():
    """start() serves the suffix, add() stores LDIF (all four schemas), stop() closes the port."""
    server = SlapdTestServer()
    server.start()
    try:
        base = server.createSubtree()
        server.add(PERSON.format(base=base))
        server.add(
            f"dn: cn=staff,{base}\nobjectClass: posixGroup\ncn: staff\ngidNumber: 1000\n"
            "memberUid: alice\n"
        )
        assert _search(server, SUFFIX, "(memberUid=alice)", "cn") == (
            f"dn: cn=staff,{base}\ncn: staff\n\n"
        )
        # Anyone reads entries, nobody reads password hashes.
        found = _search(server, base, "(uid=alice)", "sn", "userPassword")
        assert found == f"dn: uid=alice,{base}\nsn: Smith\n\n"
        assert "dn:uid=alice" in _whoami(server, f"uid=alice,{base}", "alice-pw").stdout
        assert _whoami(server, f"uid=alice,{base}", "wrong").returncode == 49
    finally:
        server.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


def test_root_dn_writes_and_subtrees_are_distinct(peekSlapd):
    """The session fixture runs; createSubtree() gives a new empty ou each time."""
    first, second = peekSlapd.createSubtree(), peekSlapd.createSubtree()
    assert first != second
    assert first.endswith(f",{SUFFIX}")
    assert _whoami(peekSlapd, ROOT_DN, peekSlapd.rootPassword).returncode == 0


def test_add_reports_what_the_server_refused(peekSlapd):
    """An entry the server refuses raises RuntimeError with ldapadd's explanation."""
    base = peekSlapd.createSubtree()
    with pytest.raises(
        RuntimeError,
        match=r"(?s)ldapadd on ldap://127\.0\.0\.1:\d+ failed \(65\): .*requires attribute 'sn'",
    ):
        peekSlapd.add(f"dn: uid=x,{base}\nobjectClass: inetOrgPerson\nuid: x\n")


def test_unauthenticated_binds_only_when_allowed():
    """A DN with an empty password is refused unless allowUnauthenticatedBind is set."""
    strict, permissive = SlapdTestServer(), SlapdTestServer(allowUnauthenticatedBind=True)
    strict.start()
    permissive.start()
    try:
        refused = _whoami(strict, f"uid=nobody,{SUFFIX}", "")
        assert (refused.returncode, "unauthenticated bind" in refused.stderr) == (53, True)
        accepted = _whoami(permissive, f"uid=nobody,{SUFFIX}", "")
        assert (accepted.returncode, accepted.stdout.strip()) == (0, "anonymous")
    finally:
        strict.stop()
        permissive.stop()


def test_server_with_a_certificate_also_serves_ldaps(peekTestPki):
    """Given a certificate and key the server answers ldaps:// with them as well."""
    server = SlapdTestServer(tlsCertPath=peekTestPki.serverCert, tlsKeyPath=peekTestPki.serverKey)
    server.start()
    try:
        assert server.ldapsUrl == f"ldaps://127.0.0.1:{server.tlsPort}"
        secure = _whoami(server, ROOT_DN, server.rootPassword, server.ldapsUrl, peekTestPki.caCert)
        assert secure.returncode == 0, secure.stderr
        untrusted = _whoami(
            server, ROOT_DN, server.rootPassword, server.ldapsUrl, peekTestPki.otherCaCert
        )
        assert untrusted.returncode != 0
        assert _whoami(server, ROOT_DN, server.rootPassword).returncode == 0
    finally:
        server.stop()
    plain = SlapdTestServer()
    try:
        with pytest.raises(RuntimeError, match="without tlsCertPath"):
            _ = plain.ldapsUrl
    finally:
        plain.stop()


def test_server_listens_on_the_port_given():
    """A server given a port listens there and names it in its URL."""
    port = freeTcpPortBlock([0])
    server = SlapdTestServer(port=port)
    server.start()
    try:
        assert server.url == f"ldap://127.0.0.1:{port}"
        assert _whoami(server, ROOT_DN, server.rootPassword).returncode == 0
    finally:
        server.stop()


def test_missing_binary_names_the_packages(monkeypatch):
    """Without slapd on PATH or in sbin the error says what to install."""
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(slapdModule, "SBIN_DIRS", ("/nonexistent",))
    with pytest.raises(SlapdNotInstalled, match="apt-get install slapd ldap-utils"):
        SlapdTestServer()
