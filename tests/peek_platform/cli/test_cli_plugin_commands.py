"""``peek plugin-commands``, ``peek <plugin> <command>`` and ``peek plugin uninstall-data``,
with the noop plugin's ``list-items`` against logic's storage on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from peek_platform.cli import plugin_commands_command
from peek_platform.plugin.discovery import findInstalledPlugins
from peek_plugin_base.storage.DbEngine import createDbEngine

SEED = [{"id": 1, "name": "Apples", "value": 3}, {"id": 2, "name": "Pears", "value": 5}]


@pytest.fixture(params=["sqlite", "postgresql"])
def logicHome(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    """``(home, database URL)``: a logic home using the embedded SQLite or a PostgreSQL."""
    home = tmp_path / "logic"
    home.mkdir()
    config: dict = {"plugin": {"enabled": ["peek_plugin_noop"]}}
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'peek.sqlite'}"
    else:
        url = request.getfixturevalue("peekPostgresUrl")
        config["sqlalchemy"] = {"connectUrl": url}
    (home / "config.json").write_text(json.dumps(config))
    return home, url


def scalar(url: str, sql: str) -> object:
    engine = createDbEngine(url, attachSchemas=["pl_noop", "peek_platform"])
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar()
    finally:
        engine.dispose()


def test_noopCommandRunsOnMigratedStorage(peek, noopOnPath, logicHome):
    """list-items on a fresh database migrates pl_noop, runs the install hook (the seed items)
    and lists them; a second run lists the same items (install ran once)."""
    home, url = logicHome
    code, out, err = peek("noop", "list-items", "--home", str(home), "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == SEED
    code, out, _ = peek("noop", "list-items", "--home", str(home), "--json")
    assert (code, json.loads(out)) == (0, SEED)
    assert scalar(url, "SELECT count(*) FROM peek_platform.plugin_install_step") == 1
    assert scalar(url, "SELECT version FROM peek_platform.plugin_install") == "0.1.0"


def test_pluginCommandsListsNoopWithoutImportingIt(peek, noopOnPath, monkeypatch):
    """plugin-commands prints plugin, command and the declared help, and imports no plugin."""
    imported: list[str] = []
    monkeypatch.setattr(
        "peek_platform.plugin.commands.DeclaredCommand.load",
        lambda self: imported.append(self.name),
    )
    code, out, _ = peek("plugin-commands")
    assert code == 0
    assert re.search(r"^noop\s+list-items\s+print every noop item \(id, name, value\)", out, re.M)
    assert imported == []


def test_commandHelpDocumentsItsOptions(peek, noopOnPath):
    """peek noop list-items --help shows the command's description and its own options."""
    code, out, _ = peek("noop", "list-items", "--help")
    assert code == 0
    assert "usage: peek noop list-items" in out
    assert "Print every NoopItem" in out
    assert "--json" in out and "--home DIR" in out
    code, out, _ = peek("noop", "--help")
    assert code == 0 and "list-items" in out


def writeCommandPlugin(site: Path, name: str) -> None:
    """A plugin package under ``site`` declaring one command."""
    rootDir = site / name
    rootDir.mkdir()
    (rootDir / "__init__.py").write_text("")
    (rootDir / "plugin_package.json").write_text(
        json.dumps(
            {
                "plugin": {"title": name, "packageName": name, "version": "1.0"},
                "requiresServices": ["logic"],
                "commands": {"hello": {"help": "say hello", "class": f"{name}.cmd:Hello"}},
            }
        )
    )


def test_pluginNamedLikeABuiltinCannotShadowIt(peek, tmp_path, monkeypatch):
    """A plugin whose short name is a built-in ('db') is reported, and 'peek db' stays the
    built-in command."""
    site = tmp_path / "site"
    site.mkdir()
    writeCommandPlugin(site, "peek_plugin_db")
    monkeypatch.setattr(
        plugin_commands_command,
        "findInstalledPlugins",
        functools.partial(findInstalledPlugins, [str(site)]),
    )
    code, out, _ = peek("plugin-commands")
    assert code == 1
    assert "'peek db' is a built-in command" in out
    code, out, _ = peek("db", "--help")
    assert code == 0 and "Database migrations of the logic service" in out


def test_uninstallDataRunsTheHookAndForgetsTheVersion(peek, noopOnPath, tmp_path):
    """uninstall-data deletes the items (noop's hook) and the record; the next command
    installs afresh."""
    home = tmp_path / "logic"
    home.mkdir()
    (home / "config.json").write_text("{}")
    url = f"sqlite:///{home / 'peek.sqlite'}"
    assert peek("noop", "list-items", "--home", str(home))[0] == 0
    code, out, _ = peek("plugin", "uninstall-data", "noop", "--home", str(home))
    assert code == 0 and "was at version 0.1.0" in out
    assert scalar(url, 'SELECT count(*) FROM pl_noop."NoopItem"') == 0
    assert scalar(url, "SELECT count(*) FROM peek_platform.plugin_install") == 0
    code, _, err = peek("plugin", "uninstall-data", "noop", "--home", str(home))
    assert code == 1 and "is not installed" in err
