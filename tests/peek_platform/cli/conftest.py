"""Fixtures for the ``peek`` command tests."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pytest

from peek_platform.cli import plugin_command
from peek_platform.cli.main import main
from peek_platform.plugin.discovery import findInstalledPlugins

#: The noop plugin project in this repository.
NOOP_PROJECT_DIR = Path(__file__).resolve().parents[3] / "plugins" / "peek-plugin-noop"


@pytest.fixture
def peek(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run ``peek ARGS...`` in-process; return (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def homeRoot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``$PEEK_HOME_ROOT``, so default service homes live under tmp_path."""
    root = tmp_path / "homes"
    root.mkdir()
    monkeypatch.setenv("PEEK_HOME_ROOT", str(root))
    return root


@pytest.fixture
def pluginSite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make plugin discovery search just the noop project and an empty site dir (returned).

    ``peek plugin list`` then sees exactly the plugins a test puts there, whatever else
    is installed in the environment running the tests.
    """
    site = tmp_path / "site"
    site.mkdir()
    searchPath = [str(NOOP_PROJECT_DIR), str(site)]
    monkeypatch.setattr(
        plugin_command, "findInstalledPlugins", functools.partial(findInstalledPlugins, searchPath)
    )
    return site


@pytest.fixture
def noopOnPath(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put the noop project first on sys.path, so plugin commands see this checkout's noop."""
    monkeypatch.syspath_prepend(str(NOOP_PROJECT_DIR))
    return NOOP_PROJECT_DIR / "peek_plugin_noop"
