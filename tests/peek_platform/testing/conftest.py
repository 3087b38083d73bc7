"""Fixtures for the testing-helper tests: a small importable plugin written under tmp."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from harness_test_plugin import writePlugin


@pytest.fixture
def makePlugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., str]]:
    """Factory ``makePlugin(short, failStart=False)``: an importable plugin, forgotten after."""
    root = tmp_path / "plugins"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    names: list[str] = []

    def make(short: str, failStart: bool = False) -> str:
        names.append(writePlugin(root, short, failStart))
        return names[-1]

    yield make
    for name in names:
        for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
            del sys.modules[module]
