"""Fixtures for the service configuration tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A service home directory that does not exist yet."""
    return tmp_path / "peek-logic-service.home"


@pytest.fixture
def writeConfig(home: Path) -> Callable[[str], Path]:
    """Write raw text as ``<home>/config.json`` and return the file path."""

    def write(text: str) -> Path:
        home.mkdir(parents=True, exist_ok=True)
        path = home / "config.json"
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def forbidWrites(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any atomic config write fail loudly, proving that none is attempted."""

    def refuse(src: object, dst: object) -> None:
        raise AssertionError(f"unexpected write of {dst}")

    monkeypatch.setattr("os.replace", refuse)
