"""``peek db``: current, upgrade, downgrade and revision against a tmp logic home (SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peek_platform.cli import db_command
from peek_platform.cli import main as cliMain

ENV_PY = """\
import sqlalchemy as sa
from peek_plugin_base.storage.AlembicEnvBase import AlembicEnvBase

metadata = sa.MetaData(schema="pl_dbcmd")
sa.Table("item", metadata, sa.Column("id", sa.Integer, primary_key=True),
         sa.Column("name", sa.String(50)){extra})
AlembicEnvBase(metadata).run()
"""

R1 = """\
revision = "r1"
down_revision = None
branch_labels = None
depends_on = None

from alembic import op
import sqlalchemy as sa


def upgrade():
    op.create_table("item", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("name", sa.String(50)), schema="pl_dbcmd")


def downgrade():
    op.drop_table("item", schema="pl_dbcmd")
"""


def writePlugin(root: Path, name: str, storage: bool = True) -> Path:
    """Write an installed-looking plugin package under ``root``; return its alembic dir."""
    rootDir = root / name
    alembicDir = rootDir / "_private" / "alembic"
    (alembicDir / "versions").mkdir(parents=True)
    (rootDir / "__init__.py").write_text('"""Test plugin."""\n')
    package = {
        "plugin": {"title": name, "packageName": name, "version": "1.0.0"},
        "requiresServices": ["logic"],
    }
    if storage:
        package["storage"] = {"alembicDir": "_private/alembic"}
    (rootDir / "plugin_package.json").write_text(json.dumps(package))
    (alembicDir / "env.py").write_text(ENV_PY.format(extra=""))
    mako = Path(db_command.PLATFORM_ALEMBIC_DIR) / "script.py.mako"
    (alembicDir / "script.py.mako").write_text(mako.read_text())
    (alembicDir / "versions" / "r1.py").write_text(R1)
    return alembicDir


@pytest.fixture
def logicHome(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A logic home enabling the storage plugin peek_plugin_dbcmd and a plugin without storage."""
    plugins = tmp_path / "plugins"
    writePlugin(plugins, "peek_plugin_dbcmd")
    writePlugin(plugins, "peek_plugin_nostore", storage=False)
    monkeypatch.syspath_prepend(str(plugins))
    home = tmp_path / "logic"
    home.mkdir()
    (home / "config.json").write_text(
        json.dumps({"plugin": {"enabled": ["peek_plugin_dbcmd", "peek_plugin_nostore"]}})
    )
    return home


def peek(home: Path, *argv: str) -> int:
    return cliMain.main(["db", argv[0], "--home", str(home), *argv[1:]])


def test_upgradeThenCurrent(logicHome, capsys):
    """upgrade migrates the platform and enabled storage plugins; current shows them at head."""
    assert peek(logicHome, "current") == 0
    assert "peek_plugin_dbcmd\tpl_dbcmd\tcurrent=(none)\thead=r1\tneeds upgrade" in (
        capsys.readouterr().out
    )
    assert peek(logicHome, "upgrade") == 0
    assert (logicHome / "peek.sqlite").exists()
    assert (logicHome / "pl_dbcmd.sqlite").exists()
    capsys.readouterr()
    assert peek(logicHome, "current") == 0
    out = capsys.readouterr().out
    assert "peek_plugin_dbcmd\tpl_dbcmd\tcurrent=r1\thead=r1\tup to date" in out
    assert "peek_platform\tpeek_platform\t" in out
    assert "nostore" not in out


def test_downgradePlugin(logicHome, capsys):
    """downgrade PLUGIN base takes the plugin's schema back to no revision."""
    assert peek(logicHome, "upgrade", "peek_plugin_dbcmd") == 0
    assert peek(logicHome, "downgrade", "peek_plugin_dbcmd", "base") == 0
    assert "peek_plugin_dbcmd: pl_dbcmd at (none)" in capsys.readouterr().out


def test_revisionAutogenerate(logicHome, capsys):
    """revision --autogenerate writes a script with the model change into versions/."""
    assert peek(logicHome, "upgrade", "peek_plugin_dbcmd") == 0
    alembicDir = logicHome.parent / "plugins" / "peek_plugin_dbcmd" / "_private" / "alembic"
    extra = ', sa.Column("colour", sa.String(20))'
    (alembicDir / "env.py").write_text(ENV_PY.format(extra=extra))
    capsys.readouterr()
    code = peek(logicHome, "revision", "peek_plugin_dbcmd", "-m", "add colour", "--autogenerate")
    assert code == 0
    [path] = capsys.readouterr().out.split()
    script = Path(path).read_text()
    assert Path(path).parent == alembicDir / "versions"
    assert "add_column" in script and "colour" in script


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("upgrade", "peek_plugin_missing"), "unknown plugin"),
        (("downgrade", "peek_plugin_nostore", "base"), "has no storage"),
        (("revision", "peek_plugin_missing", "-m", "x"), "unknown plugin"),
    ],
)
def test_badPluginExitsTwo(logicHome, capsys, argv, message):
    """An unknown plugin or one without storage is a usage error (exit 2) saying which."""
    assert peek(logicHome, *argv) == 2
    assert message in capsys.readouterr().err


def test_failedMigrationExitsOne(logicHome, capsys):
    """A migration that fails exits 1 with the plugin name and the database error."""
    versions = logicHome.parent / "plugins" / "peek_plugin_dbcmd" / "_private" / "alembic"
    (versions / "versions" / "r2.py").write_text(
        R1.replace('"r1"', '"r2"')
        .replace("down_revision = None", 'down_revision = "r1"')
        .replace('op.create_table("item"', 'op.create_table("item2"')
        .replace('sa.Column("name"', 'sa.Column("bad", sa.Integer), sa.Column("bad"')
    )
    assert peek(logicHome, "upgrade") == 1
    err = capsys.readouterr().err
    assert "peek_plugin_dbcmd" in err
    assert "rolled back" in err
