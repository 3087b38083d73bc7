"""Fakes for the service-process tests: a loader and extensions that record their calls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.defer import Deferred, succeed
from twisted.internet.testing import MemoryReactorClock

from peek_platform.plugin.state import PluginState, PluginStatus
from peek_platform.process.context import ServiceContext
from peek_platform.services import LOGIC


class FakeLoader:
    """Records lifecycle calls in ``calls``; a step listed in ``pending`` waits for the test."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls
        self.pending: dict[str, Deferred[None]] = {}
        self.statusList: list[PluginStatus] = []

    def _step(self, name: str) -> Deferred[None]:
        self.calls.append(name)
        return self.pending.get(name, succeed(None))

    def loadAll(self) -> Deferred[None]:
        return self._step("loadAll")

    def startAll(self) -> Deferred[None]:
        return self._step("startAll")

    def stopAll(self) -> Deferred[None]:
        return self._step("stopAll")

    def unloadAll(self) -> Deferred[None]:
        return self._step("unloadAll")

    def statuses(self) -> list[PluginStatus]:
        return list(self.statusList)


class RecordingExtension:
    """A service extension that records start/stop in a shared list."""

    def __init__(self, name: str, calls: list[str], startResult: Any = None) -> None:
        self.name = name
        self.calls = calls
        self.startResult = startResult
        self.stopResult: Any = None

    def configure(self, ctx: ServiceContext) -> Any:
        self.calls.append(f"configure {self.name}")
        return ctx.config

    def startBeforePlugins(self, ctx: ServiceContext) -> Any:
        self.calls.append(f"start {self.name}")
        if isinstance(self.startResult, Exception):
            raise self.startResult
        return self.startResult

    def loaderExtensions(self, ctx: ServiceContext) -> list[Any]:
        return []

    def startAfterPlugins(self, ctx: ServiceContext) -> Any:
        self.calls.append(f"started-after {self.name}")

    def stopAfterPlugins(self, ctx: ServiceContext) -> Any:
        self.calls.append(f"stop {self.name}")
        return self.stopResult


@pytest.fixture
def calls() -> list[str]:
    """The shared, ordered record of lifecycle calls."""
    return []


@pytest.fixture
def extension(calls: list[str]) -> Callable[..., RecordingExtension]:
    """Factory of recording extensions that share the ``calls`` record."""

    def make(name: str, startResult: Any = None) -> RecordingExtension:
        return RecordingExtension(name, calls, startResult)

    return make


@pytest.fixture
def reactor() -> MemoryReactorClock:
    """A fake running reactor with a controllable clock."""
    fake = MemoryReactorClock()
    fake.running = True
    return fake


@pytest.fixture
def loader(calls: list[str]) -> FakeLoader:
    """A loader whose plugins all started."""
    fake = FakeLoader(calls)
    fake.statusList = [PluginStatus(name="peek_plugin_a", state=PluginState.STARTED)]
    return fake


@pytest.fixture
def ctx(reactor: MemoryReactorClock, loader: FakeLoader, tmp_path: Path) -> ServiceContext:
    """A service context for the logic service around the fake loader."""
    return ServiceContext(spec=LOGIC, home=tmp_path, config={}, reactor=reactor, loader=loader)
