"""Fixtures for the worker service unit tests: plugin packages written to a temp sys.path."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_HOOK = """
from peek_plugin_base.worker.PluginWorkerEntryHookABC import PluginWorkerEntryHookABC


class Hook(PluginWorkerEntryHookABC):
    def load(self): pass
    def start(self): pass
    def stop(self): pass
    def unload(self): pass

    @property
    def celeryAppIncludes(self):
        return {includes!r}


def peekWorkerEntryHook():
    return Hook
"""


@pytest.fixture
def pluginDir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on ``sys.path`` for test plugin packages (removed, with imports, after)."""
    directory = tmp_path / "plugins"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    before = set(sys.modules)
    yield directory
    for name in set(sys.modules) - before:
        if name.startswith("peek_plugin_wsu"):
            del sys.modules[name]


@pytest.fixture
def writePlugin(pluginDir: Path) -> Callable[..., None]:
    """``writePlugin(name, includes, services=("worker",), requires=())``."""

    def write(
        name: str,
        includes: object = (),
        services: tuple[str, ...] = ("worker",),
        requires: tuple[str, ...] = (),
    ) -> None:
        package = pluginDir / name
        package.mkdir()
        (package / "__init__.py").write_text(_HOOK.format(includes=includes), encoding="utf-8")
        metadata = {
            "plugin": {"title": name, "packageName": name, "version": "1.0.0"},
            "requiresServices": list(services),
            "requiresPlugins": list(requires),
        }
        (package / "plugin_package.json").write_text(json.dumps(metadata), encoding="utf-8")

    return write
