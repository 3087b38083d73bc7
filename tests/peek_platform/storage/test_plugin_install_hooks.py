"""Install and upgrade hooks on logic: once per installation and version step, in version
order, one transaction with the record (peek_platform/storage/plugin_install.py).

Each test runs a real plugin package through the real loader (``PluginHarness``) on SQLite
and PostgreSQL; a "restart" is a new harness on the same home and database.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from peek_platform.plugin.state import PluginState
from peek_platform.storage.plugin_install import PluginInstallError, planInstallSteps
from peek_platform.testing.PluginHarness import PluginHarness, PluginHarnessError
from peek_plugin_base.logic.PluginLogicInstallHooksABC import PluginLogicInstallHooksABC

NAME = "peek_plugin_ihook"

INIT_PY = '''\
"""Install hooks test plugin."""


def peekLogicEntryHook():
    from peek_plugin_ihook._private.logic import LogicEntryHook

    return LogicEntryHook
'''

LOGIC_PY = """\
import sqlalchemy as sa

from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC
from peek_plugin_base.logic.PluginLogicStorageEntryHookABC import PluginLogicStorageEntryHookABC

metadata = sa.MetaData(schema="pl_ihook")


class LogicEntryHook(PluginLogicEntryHookABC, PluginLogicStorageEntryHookABC):
    dbMetadata = metadata

    def load(self):
        pass

    def start(self):
        pass

    def stop(self):
        pass

    def unload(self):
        pass
"""

#: Each hook logs its name into run_log; upgrade steps are declared out of version order,
#: and "0.10" sorts before "0.2" as text. The 0.10 step changes data, then fails.
HOOKS_PY = """\
import sqlalchemy as sa

from peek_plugin_base.logic.PluginLogicInstallHooksABC import PluginLogicInstallHooksABC


def log(context, what):
    context.session.execute(
        sa.text("INSERT INTO pl_ihook.run_log (revision) VALUES (:what)"), {"what": what}
    )


class Hooks(PluginLogicInstallHooksABC):
    def install(self, context):
        log(context, "install")
        context.session.execute(sa.text("INSERT INTO pl_ihook.item (name) VALUES ('seed')"))

    def upgradeSteps(self):
        return {"0.10": self.to010, "0.3": self.to03, "0.2": self.to02}

    def to02(self, context):
        log(context, f"{context.fromVersion}->0.2")

    def to03(self, context):
        log(context, f"{context.fromVersion}->0.3")
        context.session.execute(sa.text("UPDATE pl_ihook.item SET name = 'seed-0.3'"))

    def to010(self, context):
        context.session.execute(sa.text("UPDATE pl_ihook.item SET name = 'broken'"))
        log(context, "0.10")
        raise RuntimeError("cannot convert the items")
"""


class IhookPlugin:
    """The test plugin's package under ``root``; ``setVersion`` rewrites its version."""

    def __init__(self, makePlugin: Callable[..., object]) -> None:
        writer = makePlugin("ihook")
        self.rootDir: Path = writer.rootDir  # type: ignore[attr-defined]
        (self.rootDir / "__init__.py").write_text(INIT_PY)
        (self.rootDir / "_private" / "__init__.py").write_text("")
        (self.rootDir / "_private" / "logic.py").write_text(LOGIC_PY)
        (self.rootDir / "_private" / "hooks.py").write_text(HOOKS_PY)
        self.setVersion("0.1")

    def setVersion(self, version: str) -> None:
        package = json.loads((self.rootDir / "plugin_package.json").read_text())
        package["plugin"]["version"] = version
        package["logic"] = {"installHooks": f"{NAME}._private.hooks:Hooks"}
        (self.rootDir / "plugin_package.json").write_text(json.dumps(package))


@pytest.fixture
def plugin(makePlugin, monkeypatch: pytest.MonkeyPatch) -> Iterator[IhookPlugin]:
    """The importable test plugin at version 0.1, forgotten by ``sys.modules`` after."""
    made = IhookPlugin(makePlugin)
    monkeypatch.syspath_prepend(str(made.rootDir.parent))
    yield made
    for module in [m for m in sys.modules if m == NAME or m.startswith(f"{NAME}.")]:
        del sys.modules[module]


@pytest.fixture
def restart(dbUrl: str, tmp_path: Path) -> Iterator[Callable[[], PluginHarness]]:
    """``restart()``: load the plugin in a new logic (same home and database); close after."""
    harnesses: list[PluginHarness] = []

    def start() -> PluginHarness:
        if harnesses:
            harnesses[-1].close()
        harness = PluginHarness(
            "logic", NAME, tmp_path / "home", config={"sqlalchemy.connectUrl": dbUrl}
        )
        harnesses.append(harness)
        return harness

    yield start
    for harness in harnesses:
        harness.close()


def query(dbUrl: str, sql: str) -> list[tuple]:
    """Rows of ``sql`` on a connection seeing the plugin's and the platform's schema."""
    from peek_plugin_base.storage.DbEngine import createDbEngine

    engine = createDbEngine(dbUrl, attachSchemas=["pl_ihook", "peek_platform"])
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def runLog(dbUrl: str) -> list[str]:
    return [row[0] for row in query(dbUrl, "SELECT revision FROM pl_ihook.run_log ORDER BY id")]


def recorded(dbUrl: str) -> list[tuple]:
    return query(
        dbUrl,
        f"SELECT version FROM peek_platform.plugin_install WHERE plugin_name = '{NAME}'",
    )


def loadAndUnload(harness: PluginHarness) -> None:
    harness.wait(harness.load())
    harness.wait(harness.unload())


def test_installHookRunsOnceAcrossRestarts(plugin, restart, dbUrl):
    """install runs on the first load only: a second start of logic does not run it again."""
    loadAndUnload(restart())
    loadAndUnload(restart())
    assert runLog(dbUrl) == ["r1", "install"]
    assert query(dbUrl, "SELECT name FROM pl_ihook.item") == [("seed",)]
    assert recorded(dbUrl) == [("0.1",)]
    assert query(
        dbUrl,
        "SELECT step, from_version, to_version FROM peek_platform.plugin_install_step "
        f"WHERE plugin_name = '{NAME}' ORDER BY id",
    ) == [("install", None, "0.1")]


def test_freshInstallRunsNoUpgradeStep(plugin, restart, dbUrl):
    """A fresh install at 0.3 runs install only: it covers the current version."""
    plugin.setVersion("0.3")
    loadAndUnload(restart())
    assert runLog(dbUrl) == ["r1", "install"]
    assert recorded(dbUrl) == [("0.3",)]


def test_upgradeStepsRunInVersionOrderOnce(plugin, restart, dbUrl):
    """From 0.1 to 0.3 the 0.2 then the 0.3 step run, each from the previous version, once."""
    loadAndUnload(restart())
    plugin.setVersion("0.3")
    loadAndUnload(restart())
    loadAndUnload(restart())
    assert runLog(dbUrl) == ["r1", "install", "0.1->0.2", "0.2->0.3"]
    assert recorded(dbUrl) == [("0.3",)]


def test_failingUpgradeLeavesDataAndVersionAndFailsPlugin(plugin, restart, dbUrl):
    """A failing 0.10 step changes no data, keeps the recorded 0.3 and fails the plugin."""
    plugin.setVersion("0.3")
    loadAndUnload(restart())
    before = (runLog(dbUrl), query(dbUrl, "SELECT id, name FROM pl_ihook.item"))
    plugin.setVersion("0.10")
    harness = restart()
    with pytest.raises(PluginHarnessError):
        harness.wait(harness.load())
    assert harness.status.state is PluginState.FAILED
    assert "upgrade 0.3 -> 0.10" in (harness.status.reason or "")
    assert "cannot convert the items" in (harness.status.reason or "")
    assert (runLog(dbUrl), query(dbUrl, "SELECT id, name FROM pl_ihook.item")) == before
    assert recorded(dbUrl) == [("0.3",)]


class _Steps(PluginLogicInstallHooksABC):
    def upgradeSteps(self):
        return {version: print for version in ("0.9", "0.11", "0.10", "0.2", "1.0")}


def test_planSortsByVersionAndRefusesNewerData():
    """Steps above the recorded and at most the current version, in PEP 440 order; data
    newer than the code is refused."""
    plan = planInstallSteps(NAME, "0.2", "0.10", _Steps())
    assert [(s.fromVersion, s.toVersion) for s in plan] == [("0.2", "0.9"), ("0.9", "0.10")]
    assert [s.step for s in planInstallSteps(NAME, None, "0.10", _Steps())] == ["install"]
    assert planInstallSteps(NAME, "0.10.0", "0.10", _Steps()) == []
    with pytest.raises(PluginInstallError, match="newer than the installed plugin"):
        planInstallSteps(NAME, "1.0", "0.10", _Steps())
