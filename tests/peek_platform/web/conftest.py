"""Fixtures for the web site tests: a clock, a fake vortex, and a plugin's static app dir."""

from __future__ import annotations

from pathlib import Path

import pytest
from twisted.internet.task import Clock
from twisted.web.static import Data
from vortexfakes import FakeEndpoint


class FakeVortexFactory:
    """Stands in for ``VortexFactory``: a settable link state and a recorded ``listen``."""

    def __init__(self) -> None:
        self.linked: set[str] = set()
        self.listens: list[dict] = []

    def isVortexNameConnected(self, vortexName: str) -> bool:
        """True when ``vortexName`` was marked linked."""
        return vortexName in self.linked

    def listen(self, rootResource, **kwargs):
        """Record the call; return an endpoint-like object with a ``resource`` and no links."""
        self.listens.append(kwargs)
        return FakeEndpoint(Data(b"vortex endpoint", "text/plain"))


@pytest.fixture
def clock() -> Clock:
    """A fake reactor clock."""
    return Clock()


@pytest.fixture
def fakeVortex() -> FakeVortexFactory:
    """A fake vortex factory, not linked to anything."""
    return FakeVortexFactory()


@pytest.fixture
def appDir(tmp_path: Path) -> Path:
    """A plugin's static app directory with an index, a module and a stylesheet."""
    directory = tmp_path / "app"
    (directory / "sub").mkdir(parents=True)
    (directory / "index.html").write_text("<p>plugin app</p>", encoding="utf-8")
    (directory / "main.mjs").write_text("export const x = 1;", encoding="utf-8")
    (directory / "old.js").write_text("var x = 1;", encoding="utf-8")
    (directory / "style.css").write_text("p {}", encoding="utf-8")
    (directory / "data.json").write_text("{}", encoding="utf-8")
    (directory / "sub" / "note.txt").write_text("no index here", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("outside the app dir", encoding="utf-8")
    return directory
