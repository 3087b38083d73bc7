"""Fixtures for the data exchange integration tests: ``peek status`` and quick heartbeats.

Homes, configs (shared secret, loopback, OS-picked ports) and processes come from
``tests/integration/conftest.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

#: Quick heartbeats and reconnects, so a dead link is noticed and healed within seconds.
FAST_LINK_SETTINGS: dict[str, Any] = {
    "dataExchange.heartbeatSeconds": 1,
    "dataExchange.reconnectMaxSeconds": 0.5,
}


@pytest.fixture
def fastLinkSettings() -> dict[str, Any]:
    """Dotted config settings for quick heartbeats and reconnects."""
    return dict(FAST_LINK_SETTINGS)


@pytest.fixture
def peekStatus() -> Callable[..., Any]:
    """``peekStatus(home, port, expectOk=True)``: run ``peek status --json`` against the
    logic in ``home`` whose data exchange listens on ``port``.

    The port is passed in the URL because logic's config holds 0 (the OS picked the port).
    Returns the parsed JSON (failing on a non-zero exit), or with ``expectOk=False`` the
    completed process.
    """

    def run(home: Path, port: int, expectOk: bool = True) -> subprocess.CompletedProcess | dict:
        argv = [sys.executable, "-m", "peek_platform.cli", "status", "--json", "--timeout", "3"]
        out = subprocess.run(
            [*argv, "--home", str(home), "--url", f"ws://127.0.0.1:{port}/vortexws"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        if not expectOk:
            return out
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    return run
