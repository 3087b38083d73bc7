"""Fixtures for the scaffolding tests: the noop plugin of this checkout is the template."""

from __future__ import annotations

from pathlib import Path

import pytest

#: The noop plugin project in this repository.
NOOP_PROJECT_DIR = Path(__file__).resolve().parents[3] / "plugins" / "peek-plugin-noop"


@pytest.fixture
def noopProjectDir() -> Path:
    """The noop plugin project directory of this checkout."""
    return NOOP_PROJECT_DIR


@pytest.fixture
def noopOnPath(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put the noop project first on sys.path, so the template is this checkout's plugin."""
    monkeypatch.syspath_prepend(str(NOOP_PROJECT_DIR))
    return NOOP_PROJECT_DIR / "peek_plugin_noop"
