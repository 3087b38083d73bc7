"""``peek plugin upgrade`` against real logic and field processes running from a throwaway
virtual environment: a failing migration leaves the old version installed and running."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from peek_platform.services import FIELD, LOGIC
from peek_platform.testing.plugin_wheels import (
    Revision,
    ThrowawayVenv,
    buildWheel,
    storagePluginFiles,
)
from peek_platform.testing.ServiceProcess import ServiceProcess

pytestmark = pytest.mark.integration

PLUGIN = "peek_plugin_pkgitest"
DIST = "peek-plugin-pkgitest"
SCHEMA_FILE = "pl_pkgitest.sqlite"

R1 = Revision(
    "r1",
    None,
    'op.create_table("thing", sa.Column("id", sa.Integer, primary_key=True), schema="{schema}")\n'
    'op.execute("INSERT INTO {schema}.thing (id) VALUES (7)")',
)
#: Adds a column and a table, then fails half way.
R2_BROKEN = Revision(
    "r2",
    "r1",
    'op.add_column("thing", sa.Column("colour", sa.String(20)), schema="{schema}")\n'
    'op.create_table("extra", sa.Column("id", sa.Integer, primary_key=True), schema="{schema}")\n'
    'op.execute("INSERT INTO {schema}.no_such_table VALUES (1)")',
)
R2_GOOD = Revision(
    "r2", "r1", 'op.add_column("thing", sa.Column("colour", sa.String(20)), schema="{schema}")'
)


def wheel(directory: Path, version: str, *revisions: Revision) -> Path:
    files = storagePluginFiles(PLUGIN, version, revisions, requiresServices=("logic", "field"))
    return buildWheel(directory / version, DIST, version, files)


@pytest.fixture(scope="module")
def platform(tmp_path_factory, moduleProcesses, writeServiceConfig):
    """Logic and field running version 1.0.0 of the plugin from a throwaway venv."""
    root = tmp_path_factory.mktemp("upgrade-root")
    venv = ThrowawayVenv(root / "venv")
    venv.pipInstall(str(wheel(root / "wheels", "1.0.0", R1)))
    homes = {spec.key: root / spec.homeDirName for spec in (LOGIC, FIELD)}
    env = venv.env(PEEK_HOME_ROOT=str(root))

    def start(spec, port=0):
        writeServiceConfig(spec, homes[spec.key], plugins=[PLUGIN], dataExchangePort=port)
        argv = [venv.python, "-m", f"peek_{spec.key}_service", "--home", str(homes[spec.key])]
        process = ServiceProcess(argv, env, name=spec.key, timeout=30)
        return moduleProcesses._track(process)

    logic = start(LOGIC)
    port = logic.dataExchangePort()
    field = start(FIELD, port)
    for process, spec in ((logic, LOGIC), (field, FIELD)):
        process.waitForLine(rf"{spec.vortexName} started: ")
        process.waitForLine(rf"PKGTEST {PLUGIN} start 1.0.0")
    logic.waitForLine(rf"data exchange link up with {FIELD.vortexName}")
    return {
        "venv": venv,
        "homes": homes,
        "port": port,
        "root": root,
        "logic": logic,
        "field": field,
    }


def peek(platform, *args: str) -> subprocess.CompletedProcess:
    """``peek ARGS --home <logic home> --url <logic's exchange>`` with the venv's python."""
    url = f"ws://127.0.0.1:{platform['port']}/vortexws"
    home = str(platform["homes"][LOGIC.key])
    return platform["venv"].run("-m", "peek_platform.cli", *args, "--home", home, "--url", url)


def pluginStatus(platform) -> dict[str, tuple[str, str]]:
    """service key -> (state, version) of the plugin, from ``peek status --json``."""
    result = peek(platform, "status", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return {
        s["serviceKey"]: (p["state"], p["version"])
        for s in json.loads(result.stdout)["services"]
        for p in s["plugins"] or []
        if p["name"] == PLUGIN
    }


def schema(platform) -> tuple[set[str], list[str], list[tuple]]:
    """Tables, the columns of ``thing`` and the revision in the plugin's SQLite file."""
    path = platform["homes"][LOGIC.key] / SCHEMA_FILE
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        columns = [r[1] for r in db.execute("PRAGMA table_info(thing)")]
        revision = db.execute("SELECT version_num FROM alembic_version").fetchall()
    return tables, columns, revision


def test_a_failing_migration_leaves_the_old_version_installed_and_running(platform, waitFor):
    """Upgrade to 2.0.0 whose migration fails half way on logic: exit 1 saying so, 1.0.0
    installed again and started on logic, its schema as it was; field never restarted."""
    logic, field = platform["logic"], platform["field"]
    logicMark, fieldMark = len(logic.lines), len(field.lines)
    broken = wheel(platform["root"] / "wheels", "2.0.0", R1, R2_BROKEN)

    result = peek(platform, "plugin", "upgrade", "pkgitest", str(broken))

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"upgrade of {PLUGIN} to 2.0.0 failed on logic: " in output
    assert "no_such_table" in output
    assert "version 1.0.0 reinstalled and running" in output
    assert platform["venv"].version(DIST) == "1.0.0"
    logic.waitForLine(rf"PKGTEST {PLUGIN} start 1.0.0", after=logicMark)
    assert pluginStatus(platform) == {"logic": ("started", "1.0.0"), "field": ("started", "1.0.0")}
    assert schema(platform) == ({"thing", "alembic_version"}, ["id"], [("r1",)])
    assert not any(f"PKGTEST {PLUGIN} stop" in line for line in field.lines[fieldMark:])
    assert logic.exitStatus is None and field.exitStatus is None


def test_a_working_upgrade_runs_the_new_version_everywhere(platform, waitFor):
    """Upgrade to 3.0.0 whose migration works: logic migrates and starts it, then field."""
    field = platform["field"]
    fieldMark = len(field.lines)
    good = wheel(platform["root"] / "wheels", "3.0.0", R1, R2_GOOD)

    result = peek(platform, "plugin", "upgrade", PLUGIN, str(good))

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"upgraded {PLUGIN} from 1.0.0 to 3.0.0 on every service" in output
    assert platform["venv"].version(DIST) == "3.0.0"
    field.waitForLine(rf"PKGTEST {PLUGIN} start 3.0.0", after=fieldMark)
    waitFor(
        lambda: (
            pluginStatus(platform) == {"logic": ("started", "3.0.0"), "field": ("started", "3.0.0")}
        ),
        what="both services reporting 3.0.0 started",
    )
    assert schema(platform) == ({"thing", "alembic_version"}, ["id", "colour"], [("r2",)])
