"""Fixtures for the logic status tests: temp-home configs, service contexts, a spinner."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from peek_platform.config import loadServiceConfig
from peek_platform.plugin.state import PluginState, PluginStatus
from peek_platform.services import ServiceSpec

SECRET = "a-test-secret-of-more-than-16-chars"


class FakeLoader:
    """Stands in for PluginLoader: ``statuses()`` returns whatever the test set."""

    def __init__(self, *names: str) -> None:
        self.items = [PluginStatus(name=n, version="1.0", state=PluginState.STARTED) for n in names]

    def statuses(self) -> list[PluginStatus]:
        return list(self.items)


@pytest.fixture
def makeCtx(tmp_path: Path) -> Callable[..., SimpleNamespace]:
    """Build a ServiceContext-like object whose config.json holds ``dataExchange`` values."""

    def make(spec: ServiceSpec, plugins=("peek_plugin_a",), **dataExchange) -> SimpleNamespace:
        from twisted.internet import reactor

        home = tmp_path / spec.homeDirName
        home.mkdir(exist_ok=True)
        (home / "config.json").write_text(json.dumps({"dataExchange": dataExchange}))
        config = loadServiceConfig(spec, home)
        return SimpleNamespace(
            spec=spec, home=home, config=config, reactor=reactor, loader=FakeLoader(*plugins)
        )

    return make


@pytest.fixture
def spin() -> Callable[..., None]:
    """Run the global reactor until ``predicate()`` is true."""
    from twisted.internet import reactor

    def spinUntil(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"reactor condition not reached within {timeout} s")
            reactor.iterate(0.005)

    return spinUntil
