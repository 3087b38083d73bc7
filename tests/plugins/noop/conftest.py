"""Fixtures for the noop plugin tests: the plugin is imported from its project directory."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

#: The noop plugin project in this repository.
NOOP_PROJECT_DIR = Path(__file__).resolve().parents[3] / "plugins" / "peek-plugin-noop"


@pytest.fixture
def noopOnPath(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Put the noop project first on sys.path, so the tests see this checkout's plugin."""
    before = set(sys.modules)
    monkeypatch.syspath_prepend(str(NOOP_PROJECT_DIR))
    yield NOOP_PROJECT_DIR / "peek_plugin_noop"
    for name in set(sys.modules) - before:
        if name.split(".")[0] == "peek_plugin_noop":
            del sys.modules[name]
