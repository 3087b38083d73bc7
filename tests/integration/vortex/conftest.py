"""Fixtures for the data exchange integration tests: configs on free ports, shared secret."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from peek_platform.config.keys import keysForService
from peek_platform.services import ALL_SERVICES, ServiceSpec

SECRET = "integration-test-secret-0123456789"


def freePort() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _set(document: dict, dotted: str, value) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        document = document.setdefault(part, {})
    document[leaf] = value


@pytest.fixture
def writeConfigs(homeRoot: Path, testPlugins) -> Callable[..., dict[str, Path]]:
    """Write each service's config.json: the test plugins, the secret, free ports everywhere.

    Every integer key whose name ends in ``port``/``Port`` (the data exchange and any web
    site) gets a free port, so a platform already running on this host does not clash.
    """

    def write(specs: tuple[ServiceSpec, ...] = ALL_SERVICES, secret: str = SECRET) -> dict:
        ports: dict[str, int] = {}
        homes = {}
        for spec in specs:
            document: dict = {"plugin": {"enabled": [testPlugins.first]}}
            for key in keysForService(spec):
                if key.type is int and key.path.lower().endswith("port"):
                    ports.setdefault(key.path, freePort())
                    _set(document, key.path, ports[key.path])
            _set(document, "dataExchange.secret", secret)
            _set(document, "dataExchange.heartbeatSeconds", 1)
            _set(document, "dataExchange.reconnectMaxSeconds", 0.5)
            home = homeRoot / spec.homeDirName
            home.mkdir(exist_ok=True)
            (home / "config.json").write_text(json.dumps(document), encoding="utf-8")
            homes[spec.key] = home
        return homes

    return write


@pytest.fixture
def peekStatus() -> Callable[[Path], dict]:
    """Run ``peek status --json --home HOME``; return its parsed output (fails on exit != 0)."""

    def run(home: Path, expectOk: bool = True) -> subprocess.CompletedProcess | dict:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "peek_platform.cli",
                "status",
                "--json",
                "--home",
                str(home),
                "--timeout",
                "3",
            ],
            capture_output=True,
            text=True,
            timeout=20,
        )
        if not expectOk:
            return out
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    return run
