"""Plugin packages: inspecting wheels and directories, the rebuilt-wheel rollback, and
``peek plugin upgrade`` with the platform stopped, in a throwaway virtual environment."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from peek_platform.plugin.packages import PackageRefused, inspectSource
from peek_platform.testing.plugin_wheels import (
    Revision,
    ThrowawayVenv,
    buildWheel,
    storagePluginFiles,
)
from peek_plugin_base.storage.DbConnection import DbConnection, MigrationError

PLUGIN = "peek_plugin_pkgunit"
DIST = "peek-plugin-pkgunit"

R1 = Revision(
    "r1",
    None,
    'op.create_table("thing", sa.Column("id", sa.Integer, primary_key=True), schema="{schema}")',
)
#: Adds a column and a table, then fails: nothing of it may remain.
R2_BROKEN = Revision(
    "r2",
    "r1",
    """
op.add_column("thing", sa.Column("colour", sa.String(20)), schema="{schema}")
op.create_table("extra", sa.Column("id", sa.Integer, primary_key=True), schema="{schema}")
op.execute("INSERT INTO {schema}.no_such_table VALUES (1)")
""",
)
R2_GOOD = Revision(
    "r2",
    "r1",
    'op.add_column("thing", sa.Column("colour", sa.String(20)), schema="{schema}")',
)


def wheel(tmp_path: Path, version: str, *revisions: Revision) -> Path:
    files = storagePluginFiles(PLUGIN, version, revisions or (R1,))
    return buildWheel(tmp_path / f"wheels-{version}", DIST, version, files)


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> ThrowawayVenv:
    return ThrowawayVenv(tmp_path_factory.mktemp("venv") / "env")


def test_a_plugin_wheel_is_read_without_installing(tmp_path):
    """The wheel's distribution, version and plugin with its validated metadata."""
    found = inspectSource(wheel(tmp_path, "1.0.0"))

    assert (found.isWheel, found.distName, found.version) == (True, DIST, "1.0.0")
    assert found.pluginNames == [PLUGIN]
    assert found.plugins[PLUGIN].version == "1.0.0"


def test_a_wheel_that_is_not_a_plugin_is_refused_naming_it(tmp_path):
    """No peek_plugin_* package, an invalid plugin_package.json, or not a wheel at all."""
    other = buildWheel(tmp_path, "left-pad", "1.0", {"left_pad/__init__.py": ""})
    with pytest.raises(PackageRefused, match=rf"{other}: not a Peek plugin: it provides left_pad"):
        inspectSource(other)

    files = storagePluginFiles(PLUGIN, "1.0.0", (R1,))
    files[f"{PLUGIN}/plugin_package.json"] = json.dumps({"plugin": {"title": "x"}})
    broken = buildWheel(tmp_path / "broken", DIST, "1.0.0", files)
    with pytest.raises(PackageRefused, match=rf"{broken}: .*packageName"):
        inspectSource(broken)

    text = tmp_path / "notes-1.0-py3-none-any.whl"
    text.write_text("hello")
    with pytest.raises(PackageRefused, match="not a wheel"):
        inspectSource(text)
    with pytest.raises(PackageRefused, match="not a project directory"):
        inspectSource(tmp_path)


def test_a_project_directory_lists_its_plugins(tmp_path):
    """A directory with setup.py and a plugin package."""
    for name, text in storagePluginFiles(PLUGIN, "2.0.0", (R1,)).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "setup.py").write_text("")

    found = inspectSource(tmp_path)

    assert (found.isWheel, found.pluginNames, found.distName) == (False, [PLUGIN], None)


def test_a_failing_sqlite_migration_leaves_no_column_or_table(tmp_path):
    """pysqlite autocommits DDL unless told otherwise; the platform's engines run a plugin's
    migration in one real transaction, so a revision failing half way leaves nothing."""
    alembicDir = tmp_path / "plugin"
    for name, text in storagePluginFiles(PLUGIN, "1", (R1, R2_BROKEN)).items():
        (alembicDir / name).parent.mkdir(parents=True, exist_ok=True)
        (alembicDir / name).write_text(text)
    versions = alembicDir / PLUGIN / "_alembic" / "versions"
    (versions / "r2.py").rename(tmp_path / "r2.py")
    url = f"sqlite:///{tmp_path / 'peek.sqlite'}"
    db = DbConnection(
        url,
        sa.MetaData(schema="pl_pkgunit"),
        str(alembicDir / PLUGIN / "_alembic"),
        enableCreateAll=False,
    )
    db.migrate()
    (tmp_path / "r2.py").rename(versions / "r2.py")

    with pytest.raises(MigrationError, match="no_such_table"):
        db.migrate()
    db.dispose()

    with sqlite3.connect(tmp_path / "pl_pkgunit.sqlite") as plain:
        tables = {r[0] for r in plain.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        columns = [r[1] for r in plain.execute("PRAGMA table_info(thing)")]
        revision = plain.execute("SELECT version_num FROM alembic_version").fetchall()
    assert tables == {"thing", "alembic_version"}
    assert columns == ["id"]
    assert revision == [("r1",)]


def test_the_rebuilt_wheel_puts_the_old_version_back(tmp_path, venv):
    """Version 1 installed from a wheel is copied as a wheel from its installed files;
    after version 2 replaced it, reinstalling the copy brings back version 1's files."""
    venv.pipInstall(str(wheel(tmp_path, "1.0.0")))
    cache = tmp_path / "cache"
    script = f"""
import sys
from pathlib import Path
from peek_platform.plugin.packages import Pip, installedDistribution, makeRollbackArtefact
installed = installedDistribution({PLUGIN!r})
artefact = makeRollbackArtefact(installed, Path({str(cache)!r}))
print("ARTEFACT", artefact.path, installed.version, installed.editableDir)
pip = Pip(say=lambda line: None)
pip.install(Path(sys.argv[1]))
print("AFTER-UPGRADE", installedDistribution({PLUGIN!r}).version)
pip.reinstall(artefact)
print("AFTER-ROLLBACK", installedDistribution({PLUGIN!r}).version)
"""
    result = venv.run("-c", script, str(wheel(tmp_path, "2.0.0")))

    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    artefactPath = Path(lines["ARTEFACT"].split()[0])
    assert lines["ARTEFACT"].endswith(" 1.0.0 None")
    assert lines["AFTER-UPGRADE"] == "2.0.0"
    assert lines["AFTER-ROLLBACK"] == "1.0.0"
    assert artefactPath.name == "peek_plugin_pkgunit-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(artefactPath) as rebuilt:
        names = set(rebuilt.namelist())
        assert 'VERSION = "1.0.0"' in rebuilt.read(f"{PLUGIN}/__init__.py").decode()
    assert f"{PLUGIN}/_alembic/versions/r1.py" in names
    assert not any("__pycache__" in name or name.endswith("INSTALLER") for name in names)
    assert venv.version(DIST) == "1.0.0"


def writeLogicHome(home: Path) -> None:
    """A logic config enabling the test plugin, on the embedded SQLite database."""
    home.mkdir(parents=True)
    document = {"plugin": {"enabled": [PLUGIN]}, "dataExchange": {"port": 1}}
    (home / "config.json").write_text(json.dumps(document))


def peek(venv: ThrowawayVenv, *args: str) -> tuple[int, str]:
    result = venv.run("-m", "peek_platform.cli", *args)
    return result.returncode, result.stdout + result.stderr


def test_upgrade_with_the_platform_stopped_rolls_back_a_failing_migration(tmp_path, venv):
    """Logic is not running: the migration runs here; when it fails half way the old
    version is reinstalled and its schema is as it was; a good version then upgrades."""
    venv.pipInstall("--force-reinstall", str(wheel(tmp_path, "1.0.0")))
    home = tmp_path / "logic-home"
    writeLogicHome(home)
    code, output = peek(
        venv, "plugin", "upgrade", "pkgunit", str(wheel(tmp_path, "1.0.0")), "--home", str(home)
    )
    assert code == 2 and "peek_plugin_pkgunit 1.0.0 is installed already; --force" in output
    code, output = peek(
        venv,
        "plugin",
        "upgrade",
        "pkgunit",
        str(wheel(tmp_path, "1.0.0")),
        "--force",
        "--home",
        str(home),
    )
    assert code == 0, output
    assert "peek_plugin_pkgunit: migrated with" in output

    code, output = peek(
        venv,
        "plugin",
        "upgrade",
        PLUGIN,
        str(wheel(tmp_path, "2.0.0", R1, R2_BROKEN)),
        "--home",
        str(home),
    )

    assert code == 1, output
    assert "logic does not answer: migrating here" in output
    assert "upgrade of peek_plugin_pkgunit to 2.0.0 failed:" in output
    assert "no_such_table" in output and "version 1.0.0 reinstalled" in output
    assert venv.version(DIST) == "1.0.0"
    assert (home / "plugin_packages" / "peek_plugin_pkgunit-1.0.0-py3-none-any.whl").exists()
    with sqlite3.connect(home / "pl_pkgunit.sqlite") as plain:
        tables = {r[0] for r in plain.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {"thing", "alembic_version"}
        assert [r[1] for r in plain.execute("PRAGMA table_info(thing)")] == ["id"]

    code, output = peek(
        venv,
        "plugin",
        "upgrade",
        PLUGIN,
        str(wheel(tmp_path, "3.0.0", R1, R2_GOOD)),
        "--home",
        str(home),
    )

    assert code == 0, output
    assert "upgraded peek_plugin_pkgunit from 1.0.0 to 3.0.0; the services load it" in output
    assert venv.version(DIST) == "3.0.0"
    with sqlite3.connect(home / "pl_pkgunit.sqlite") as plain:
        assert [r[1] for r in plain.execute("PRAGMA table_info(thing)")] == ["id", "colour"]


def test_install_refuses_what_is_not_a_plugin_and_what_is_installed(tmp_path, venv):
    """Nothing is installed for a wheel that is not a plugin (exit 2, naming the file); an
    installed plugin is refused with the upgrade hint; a new one is installed with the
    enable hint."""
    other = buildWheel(tmp_path, "left-pad", "1.0", {"left_pad/__init__.py": ""})
    code, output = peek(venv, "plugin", "install", str(other), "--home", str(tmp_path / "h"))
    assert code == 2 and f"{other}: not a Peek plugin" in output
    assert venv.version("left-pad") is None

    venv.pipInstall("--force-reinstall", str(wheel(tmp_path, "1.0.0")))
    code, output = peek(
        venv, "plugin", "install", str(wheel(tmp_path, "1.0.0")), "--home", str(tmp_path / "h")
    )
    assert code == 2 and "is installed already (version 1.0.0); use 'peek plugin upgrade" in output

    files = storagePluginFiles("peek_plugin_pkgnew", "0.1.0", (R1,))
    fresh = buildWheel(tmp_path / "new", "peek-plugin-pkgnew", "0.1.0", files)
    code, output = peek(venv, "plugin", "install", str(fresh), "--home", str(tmp_path / "h"))
    assert code == 0, output
    assert "installed peek_plugin_pkgnew 0.1.0" in output
    assert "run 'peek plugin enable peek_plugin_pkgnew'" in output
    assert venv.version("peek-plugin-pkgnew") == "0.1.0"
