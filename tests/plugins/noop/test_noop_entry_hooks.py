"""The noop plugin runs its whole lifecycle on every service through the real plugin loader."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from peek_platform.config import loadServiceConfig
from peek_platform.platform_hook import PlatformHookBase
from peek_platform.plugin.loader import PluginLoader
from peek_platform.plugin.state import PluginState
from peek_platform.services import ALL_SERVICES, ServiceSpec

#: The lifecycle log lines of an entry hook, in order.
LIFECYCLE_LINES = ["Loaded", "Started", "Stopped", "Unloaded"]


def _succeed(d: Deferred[None]) -> None:
    """Assert that ``d`` has already fired with a result (the noop hooks never wait)."""
    SynchronousTestCase().successResultOf(d)


def _loader(spec: ServiceSpec, home: Path) -> PluginLoader:
    """A loader for ``spec`` with only the noop plugin enabled and real platform hooks."""
    config = loadServiceConfig(spec, home, writeBack=False)

    def platformFactory(pluginName: str, rootDir: Path, loader: PluginLoader) -> PlatformHookBase:
        return PlatformHookBase(spec, home, config, pluginName, loader)

    return PluginLoader(spec, ["peek_plugin_noop"], platformFactory, reactor=Clock())


@pytest.mark.parametrize("spec", ALL_SERVICES, ids=lambda spec: spec.key)
def test_runsWholeLifecycleOnEveryService(
    spec: ServiceSpec, noopOnPath: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """load, start, stop and unload succeed, each logged at INFO by the service's hook."""
    loader = _loader(spec, tmp_path)
    states = []
    with caplog.at_level(logging.INFO, logger="peek_plugin_noop"):
        for step in (loader.loadAll, loader.startAll, loader.stopAll, loader.unloadAll):
            _succeed(step())
            states.append(loader.plugin("peek_plugin_noop").status.state)

    assert states == [
        PluginState.LOADED,
        PluginState.STARTED,
        PluginState.STOPPED,
        PluginState.UNLOADED,
    ]
    plugin = loader.plugin("peek_plugin_noop")
    assert plugin.entryHook.platform is plugin.platform
    hookClass = type(plugin.entryHook)
    assert hookClass.__module__ == f"peek_plugin_noop._private.{spec.key}.{hookClass.__name__}"
    records = [r for r in caplog.records if r.name == hookClass.__module__]
    assert [r.getMessage() for r in records] == LIFECYCLE_LINES
    assert {r.levelno for r in records} == {logging.INFO}


@pytest.mark.parametrize("spec", ALL_SERVICES, ids=lambda spec: spec.key)
def test_stopShutsDownLoadedObjectsNewestFirst(
    spec: ServiceSpec, noopOnPath: Path, tmp_path: Path
) -> None:
    """stop() calls ``shutdown()`` on every object in ``_loadedObjects``, newest first."""
    loader = _loader(spec, tmp_path)
    _succeed(loader.loadAll())
    _succeed(loader.startAll())
    entryHook = loader.plugin("peek_plugin_noop").entryHook
    shutDown: list[str] = []

    class Handler:
        def __init__(self, name: str) -> None:
            self.name = name

        def shutdown(self) -> None:
            shutDown.append(self.name)

    entryHook._loadedObjects.extend([Handler("first"), Handler("second")])
    _succeed(loader.stopAll())

    assert shutDown == ["second", "first"]
    assert entryHook._loadedObjects == []
