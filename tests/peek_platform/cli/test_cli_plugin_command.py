"""``peek plugin list`` and ``peek plugin new``."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from peek_platform.cli import plugin_command
from peek_platform.plugin.discovery import findInstalledPlugins

Peek = Callable[..., tuple[int, str, str]]


@pytest.fixture
def brokenPlugin(pluginSite: Path) -> str:
    """An installed plugin package whose plugin_package.json is not valid JSON."""
    package = pluginSite / "peek_plugin_broken"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "plugin_package.json").write_text('{"plugin": ')
    return "peek_plugin_broken"


def _row(out: str, name: str) -> list[str]:
    """The table row of plugin ``name``, split on the column gaps."""
    (line,) = [line for line in out.splitlines() if line.split()[0] == name]
    return re.split(r"\s{2,}", line.strip())


def test_listShowsNoopWithVersionServicesAndTitle(peek: Peek, pluginSite: Path) -> None:
    """The table has a header and a noop row: name, version, required services, title."""
    code, out, _ = peek("plugin", "list")

    assert code == 0
    assert re.split(r"\s{2,}", out.splitlines()[0]) == ["NAME", "VERSION", "SERVICES", "TITLE"]
    assert _row(out, "peek_plugin_noop") == [
        "peek_plugin_noop",
        "0.1.0",
        "logic,field,office,agent,worker",
        "Noop Plugin",
    ]


def test_listColumnsAreAligned(peek: Peek, brokenPlugin: str) -> None:
    """Every row's columns start at the header's column offsets."""
    _, out, _ = peek("plugin", "list")
    header, *rows = out.splitlines()
    offsets = [header.index(title) for title in ("VERSION", "SERVICES", "TITLE")]
    for row in rows:
        assert all(row[offset - 2 : offset] == "  " and row[offset] != " " for offset in offsets)


def test_listJson(peek: Peek, pluginSite: Path, noopOnPath: Path) -> None:
    """--json prints an array with the noop plugin's fields and no error."""
    code, out, _ = peek("plugin", "list", "--json")

    assert code == 0
    (noop,) = [p for p in json.loads(out) if p["name"] == "peek_plugin_noop"]
    assert noop["version"] == "0.1.0"
    assert noop["requiresServices"] == ["logic", "field", "office", "agent", "worker"]
    assert noop["title"] == "Noop Plugin"
    assert noop["rootDir"] == str(noopOnPath)
    assert noop["error"] is None


def test_listShowsUnreadablePluginWithErrorAndExitsOne(peek: Peek, brokenPlugin: str) -> None:
    """A plugin whose plugin_package.json is broken is listed with its error; exit 1."""
    code, out, _ = peek("plugin", "list")
    assert code == 1
    _, version, services, title = _row(out, brokenPlugin)
    assert (version, services) == ("-", "-")
    assert title.startswith("ERROR: ") and "plugin_package.json" in title

    code, out, _ = peek("plugin", "list", "--json")
    (broken,) = [p for p in json.loads(out) if p["name"] == brokenPlugin]
    assert code == 1
    assert broken["version"] is None
    assert "plugin_package.json" in broken["error"]


def test_listWithNoPluginsSaysSo(
    peek: Peek, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no plugin installed the command says so and exits 0."""
    emptySearch = functools.partial(findInstalledPlugins, [str(tmp_path)])
    monkeypatch.setattr(plugin_command, "findInstalledPlugins", emptySearch)
    code, out, _ = peek("plugin", "list")
    assert (code, out) == (0, "No Peek plugins are installed in this environment.\n")


def test_newCreatesProjectAndPrintsNextSteps(peek: Peek, noopOnPath: Path, tmp_path: Path) -> None:
    """``plugin new tutorial --dir D`` writes D/peek-plugin-tutorial and says what to do next."""
    code, out, err = peek("plugin", "new", "tutorial", "--dir", str(tmp_path))

    projectDir = tmp_path / "peek-plugin-tutorial"
    assert (code, err) == (0, "")
    assert (projectDir / "peek_plugin_tutorial" / "plugin_package.json").is_file()
    assert f"Created plugin peek_plugin_tutorial in {projectDir}" in out
    assert "  peek_plugin_tutorial/_private/PluginNames.py" in out.splitlines()
    assert f"pip install -e {projectDir}" in out
    assert '"peek_plugin_tutorial" to "plugin.enabled"' in out
    assert not re.search("noop", out, re.IGNORECASE)


def test_newDefaultsToTheCurrentDirectory(
    peek: Peek, noopOnPath: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --dir the project is created in the current directory."""
    monkeypatch.chdir(tmp_path)
    code, _, _ = peek("plugin", "new", "peek_core_thing")
    assert code == 0
    assert (tmp_path / "peek-core-thing" / "peek_core_thing" / "__init__.py").is_file()


@pytest.mark.parametrize("name", ["Tutorial", "my thing", "9lives", "peek_foo_bar", "noop"])
def test_newRefusesInvalidNames(peek: Peek, noopOnPath: Path, tmp_path: Path, name: str) -> None:
    """An invalid name (or the template's own) exits 2 with a message and writes nothing."""
    code, out, err = peek("plugin", "new", name, "--dir", str(tmp_path))
    assert (code, out) == (2, "")
    assert err.startswith("peek: error: ")
    assert list(tmp_path.iterdir()) == []


def test_newRefusesExistingDirectory(peek: Peek, noopOnPath: Path, tmp_path: Path) -> None:
    """An existing project directory exits 2 and is left exactly as it was."""
    existing = tmp_path / "peek-plugin-tutorial"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")

    code, _, err = peek("plugin", "new", "tutorial", "--dir", str(tmp_path))

    assert code == 2
    assert "already exists" in err
    assert [p.name for p in existing.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["peek-plugin-tutorial"]


def test_newRefusesMissingDir(peek: Peek, noopOnPath: Path, tmp_path: Path) -> None:
    """A --dir that does not exist exits 2 and is not created."""
    missing = tmp_path / "missing"
    code, _, err = peek("plugin", "new", "tutorial", "--dir", str(missing))
    assert code == 2
    assert "not an existing directory" in err
    assert not missing.exists()


def test_newWithoutTemplateExitsOne(
    peek: Peek, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the noop template package is not installed, the command fails with exit 1."""
    monkeypatch.setattr("importlib.util.find_spec", lambda name, package=None: None)
    code, _, err = peek("plugin", "new", "tutorial", "--dir", str(tmp_path))
    assert code == 1
    assert "not installed" in err
    assert list(tmp_path.iterdir()) == []
