"""A not-ready plugin through PluginHarness: the real loader, field hook and reactor."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from twisted.internet import reactor
from twisted.internet.defer import Deferred

from peek_platform.plugin.state import PluginState
from peek_platform.testing.PluginHarness import PluginHarness

PLUGIN = "peek_plugin_retryharness"

INIT = '''"""Not ready on its first two loads."""

from peek_plugin_base.field.PluginFieldEntryHookABC import PluginFieldEntryHookABC
from peek_plugin_base.PluginNotReadyError import PluginNotReadyError

LOADS = []


class FieldHook(PluginFieldEntryHookABC):
    def load(self):
        LOADS.append("load")
        if len(LOADS) <= 2:
            raise PluginNotReadyError("the external system is unreachable")

    def start(self):
        pass

    def stop(self):
        pass

    def unload(self):
        pass


def peekFieldEntryHook():
    return FieldHook
'''


@pytest.fixture
def retryPlugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An importable field plugin whose load() is not ready twice."""
    root = tmp_path / "plugins"
    package = root / PLUGIN
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(INIT)
    (package / "plugin_package.json").write_text(
        json.dumps(
            {
                "plugin": {"title": "Retry", "packageName": PLUGIN, "version": "1.0.0"},
                "requiresServices": ["field"],
            }
        )
    )
    monkeypatch.syspath_prepend(str(root))
    yield PLUGIN
    sys.modules.pop(PLUGIN, None)


def test_not_ready_plugin_is_retried_then_started(
    retryPlugin: str, peekPluginHarness: Callable[..., PluginHarness]
) -> None:
    """Not ready twice: retried after 0.2 s and 0.4 s of reactor time, then started."""
    harness = peekPluginHarness(retryPlugin, "field")
    loader = harness.loader
    loader.retryInitialSeconds = 0.2
    loader.retryMaxSeconds = 0.4
    began = reactor.seconds()
    harness.wait(loader.loadAll())
    harness.wait(loader.startAll())
    assert harness.status.state is PluginState.RETRYING
    assert (
        harness.status.reason == "retrying in 0.2 s (attempt 1): the external system is unreachable"
    )

    started: Deferred[None] = Deferred()
    reasons: list[str | None] = [harness.status.reason]

    def onChange() -> None:
        if harness.status.state is PluginState.RETRYING:
            reasons.append(harness.status.reason)
        if harness.status.state is PluginState.STARTED and not started.called:
            started.callback(None)

    unsubscribe = loader.addStatusListener(onChange)
    try:
        harness.wait(started)
    finally:
        unsubscribe()
    assert reactor.seconds() - began >= 0.6
    assert reasons == [
        "retrying in 0.2 s (attempt 1): the external system is unreachable",
        "retrying in 0.4 s (attempt 2): the external system is unreachable",
    ]
    assert sys.modules[retryPlugin].LOADS == ["load"] * 3
    assert harness.status.reason is None
