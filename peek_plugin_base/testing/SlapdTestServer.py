"""A throwaway OpenLDAP server for tests of LDAP login code (platform and plugins).

Runs ``slapd`` on a free localhost port as a child process, with a ``slapd.conf`` and an
``mdb`` database in a temporary directory removed on ``stop()``. The directory holds the
suffix ``dc=example,dc=org`` (its entry is created on start), knows the ``core``,
``cosine``, ``inetorgperson`` and ``nis`` schemas, and its root DN
``cn=admin,dc=example,dc=org`` may write everything. Entries are added as LDIF with
``ldapadd``. Anyone may read everything except ``userPassword``, which only serves binds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from peek_plugin_base.testing.FreePort import freeTcpPort

#: Where Debian/Ubuntu install the OpenLDAP schemas and server modules.
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIRS: tuple[Path, ...] = (Path("/usr/lib/ldap"), Path("/usr/lib64/openldap"))
#: The schemas the server loads, in dependency order.
SCHEMAS: tuple[str, ...] = ("core", "cosine", "inetorgperson", "nis")
#: Where ``slapd`` lives when ``/usr/sbin`` is not on PATH (as for most non-root users).
SBIN_DIRS: tuple[str, ...] = ("/usr/sbin", "/usr/local/sbin")

SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "peek-test-root"

_INSTALL_HINT = "install them (Debian/Ubuntu: apt-get install slapd ldap-utils)"


class SlapdNotInstalled(RuntimeError):
    """``slapd`` (package slapd), ``ldapadd`` (package ldap-utils) or the schemas are missing."""


def _find(program: str, package: str, extraDirs: tuple[str, ...] = ()) -> Path:
    """``program`` on PATH or in ``extraDirs``; ``SlapdNotInstalled`` naming ``package``."""
    searchPath = os.pathsep.join([os.environ.get("PATH", ""), *extraDirs])
    found = shutil.which(program, path=searchPath)
    if found is None:
        raise SlapdNotInstalled(
            f"{program} not found on PATH or in {', '.join(extraDirs) or 'PATH'} (package "
            f"{package}); {_INSTALL_HINT} to run the LDAP tests"
        )
    return Path(found)


def findSlapd() -> tuple[Path, Path, Path]:
    """``slapd``, ``ldapadd`` and ``ldapwhoami``; ``SlapdNotInstalled`` if one is missing."""
    slapd = _find("slapd", "slapd", SBIN_DIRS)
    ldapadd = _find("ldapadd", "ldap-utils")
    ldapwhoami = _find("ldapwhoami", "ldap-utils")
    missing = [name for name in SCHEMAS if not (SCHEMA_DIR / f"{name}.schema").is_file()]
    if missing:
        raise SlapdNotInstalled(
            f"OpenLDAP schemas {', '.join(missing)} not found in {SCHEMA_DIR}; {_INSTALL_HINT}"
        )
    return slapd, ldapadd, ldapwhoami


class SlapdTestServer:
    """One temporary ``slapd``; ``start()``, ``add(ldif)``, ``createSubtree()``, ``stop()``.

    It listens on ``ldap://127.0.0.1:<port>``, ``port`` being a free port the OS picks when
    none is given. Given ``tlsCertPath`` and ``tlsKeyPath`` (PEM, such as ``TestPki``'s
    ``serverCert`` and ``serverKey``) it also listens on ``ldapsUrl``, on another free port.
    ``allowUnauthenticatedBind`` makes a bind with a DN and an empty password
    succeed as an anonymous bind (``allow bind_anon_dn``), as some servers do, for tests
    proving a client never takes that for a login.
    """

    suffix = SUFFIX
    rootDn = ROOT_DN
    rootPassword = ROOT_PASSWORD

    def __init__(
        self,
        startTimeout: float = 10.0,
        port: int | None = None,
        *,
        allowUnauthenticatedBind: bool = False,
        tlsCertPath: Path | None = None,
        tlsKeyPath: Path | None = None,
    ) -> None:
        if (tlsCertPath is None) != (tlsKeyPath is None):
            raise ValueError("give both tlsCertPath and tlsKeyPath, or neither")
        self._slapd, self._ldapadd, self._ldapwhoami = findSlapd()
        self._startTimeout = startTimeout
        self._allowUnauthenticatedBind = allowUnauthenticatedBind
        self._dir = Path(tempfile.mkdtemp(prefix="peek-slapd-"))
        self._process: subprocess.Popen | None = None
        self._subtrees = 0
        self.port = freeTcpPort() if port is None else port
        self._tls = (Path(tlsCertPath), Path(tlsKeyPath)) if tlsCertPath and tlsKeyPath else None
        #: The ldaps:// port, when the server has a TLS certificate.
        self.tlsPort = freeTcpPort() if self._tls else None

    @property
    def url(self) -> str:
        """The ``ldap://`` URL of this server."""
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldapsUrl(self) -> str:
        """The ``ldaps://`` URL of this server; ``RuntimeError`` when it has no certificate."""
        if self.tlsPort is None:
            raise RuntimeError("this SlapdTestServer was made without tlsCertPath/tlsKeyPath")
        return f"ldaps://127.0.0.1:{self.tlsPort}"

    def _config(self) -> str:
        """The ``slapd.conf`` text: schemas, the mdb database and its access rules."""
        lines = [f"include {SCHEMA_DIR / f'{name}.schema'}" for name in SCHEMAS]
        for moduleDir in MODULE_DIRS:
            if any(moduleDir.glob("back_mdb*")):
                lines += [f"modulepath {moduleDir}", "moduleload back_mdb"]
                break
        if self._allowUnauthenticatedBind:
            lines.append("allow bind_anon_dn")
        if self._tls is not None:
            lines += [f"TLSCertificateFile {self._tls[0]}", f"TLSCertificateKeyFile {self._tls[1]}"]
        lines += [
            f"pidfile {self._dir / 'slapd.pid'}",
            f"argsfile {self._dir / 'slapd.args'}",
            "database mdb",
            "maxsize 104857600",
            f'suffix "{SUFFIX}"',
            f'rootdn "{ROOT_DN}"',
            f"rootpw {ROOT_PASSWORD}",
            f"directory {self._dir / 'data'}",
            "access to attrs=userPassword by self write by anonymous auth by * none",
            "access to * by * read",
        ]
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        """Start the server and create the suffix entry; return once it answers."""
        (self._dir / "data").mkdir()
        configPath = self._dir / "slapd.conf"
        configPath.write_text(self._config(), encoding="utf-8")
        with open(self._dir / "slapd.log", "wb") as logFd:
            self._process = subprocess.Popen(
                [
                    str(self._slapd),
                    "-f",
                    str(configPath),
                    "-h",
                    f"{self.url}/" + (f" {self.ldapsUrl}/" if self._tls else ""),
                    # Any debug level keeps slapd in the foreground, a child we can stop.
                    "-d",
                    "0",
                ],
                cwd=self._dir,
                stdout=logFd,
                stderr=subprocess.STDOUT,
            )
        self._waitUntilReady()
        self.add(
            f"dn: {SUFFIX}\n"
            "objectClass: dcObject\n"
            "objectClass: organization\n"
            "dc: example\n"
            "o: Peek test directory\n"
        )

    def _waitUntilReady(self) -> None:
        deadline = time.monotonic() + self._startTimeout
        while True:
            if self._process is not None and self._process.poll() is not None:
                log = (self._dir / "slapd.log").read_text(errors="replace")
                raise RuntimeError(
                    f"slapd exited with {self._process.returncode} on port {self.port}:\n{log}"
                )
            answered = subprocess.run(
                [str(self._ldapwhoami), "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD],
                capture_output=True,
                timeout=self._startTimeout,
                check=False,
            )
            if answered.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"slapd did not answer on {self.url} within {self._startTimeout:g} s; "
                    f"see {self._dir / 'slapd.log'}"
                )
            time.sleep(0.05)

    def add(self, ldif: str) -> None:
        """Add the entries of ``ldif`` as the root DN; ``RuntimeError`` with the reason."""
        added = subprocess.run(
            [str(self._ldapadd), "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD],
            input=ldif.encode(),
            capture_output=True,
            timeout=30,
            check=False,
        )
        if added.returncode != 0:
            output = (added.stdout + added.stderr).decode(errors="replace").strip()
            raise RuntimeError(f"ldapadd on {self.url} failed ({added.returncode}): {output}")

    def createSubtree(self) -> str:
        """Add a new empty ``ou=testN`` under the suffix; return its DN.

        Tests sharing one server each put their entries under their own subtree.
        """
        self._subtrees += 1
        dn = f"ou=test{self._subtrees},{SUFFIX}"
        self.add(f"dn: {dn}\nobjectClass: organizationalUnit\nou: test{self._subtrees}\n")
        return dn

    def stop(self) -> None:
        """Stop the server and delete its files."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        shutil.rmtree(self._dir, ignore_errors=True)
