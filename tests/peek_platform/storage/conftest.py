"""Fixtures for the logic storage tests: database URLs, small plugin packages, blockOn."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from peek_platform.plugin.loader import LoadedPlugin
from peek_platform.plugin.metadata import readPluginMetadata
from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC
from peek_plugin_base.logic.PluginLogicStorageEntryHookABC import PluginLogicStorageEntryHookABC
from peek_plugin_base.testing.ThreadReactor import blockOn

ENV_PY = """\
import sqlalchemy as sa

from peek_plugin_base.storage.AlembicEnvBase import AlembicEnvBase

metadata = sa.MetaData(schema="{schema}")
sa.Table("item", metadata, sa.Column("id", sa.Integer, primary_key=True),
         sa.Column("name", sa.String(50)))
AlembicEnvBase(metadata).run()
"""

REVISION = """\
revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = None

from alembic import op
import sqlalchemy as sa


def upgrade():
{upgrade}


def downgrade():
{downgrade}
"""

#: Revision r1: the ``item`` table and the ``run_log`` marker table, with one row per run.
R1_UPGRADE = """
op.create_table("item", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("name", sa.String(50)), schema="{schema}")
op.create_table("run_log", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("revision", sa.String(20)), schema="{schema}")
op.execute("INSERT INTO {schema}.run_log (revision) VALUES ('r1')")
"""
R1_DOWNGRADE = """
op.drop_table("run_log", schema="{schema}")
op.drop_table("item", schema="{schema}")
"""


class PluginWriter:
    """A ``peek_plugin_<name>`` package with plugin_package.json and an Alembic directory."""

    def __init__(self, root: Path, name: str, settings: list | None = None) -> None:
        self.name = f"peek_plugin_{name}"
        self.schema = f"pl_{name}"
        self.rootDir = root / self.name
        self.alembicDir = self.rootDir / "_private" / "alembic"
        (self.alembicDir / "versions").mkdir(parents=True)
        (self.rootDir / "__init__.py").write_text('"""Test plugin."""\n')
        (self.alembicDir / "env.py").write_text(ENV_PY.format(schema=self.schema))
        (self.alembicDir / "script.py.mako").write_text(
            (Path(__file__).parent / "script.py.mako.txt").read_text()
        )
        package: dict[str, Any] = {
            "plugin": {"title": name, "packageName": self.name, "version": "1.0.0"},
            "requiresServices": ["logic", "storage"],
            "storage": {"alembicDir": "_private/alembic"},
        }
        if settings is not None:
            package["settings"] = settings
        (self.rootDir / "plugin_package.json").write_text(json.dumps(package))
        self.addRevision("r1", None, R1_UPGRADE, R1_DOWNGRADE)

    def addRevision(
        self, revision: str, down: str | None, upgrade: str, downgrade: str = ""
    ) -> None:
        """Write ``versions/<revision>.py``; ``{schema}`` in the bodies is the plugin schema."""

        def body(text: str) -> str:
            code = textwrap.dedent(text).format(schema=self.schema).strip() or "pass"
            return textwrap.indent(code, "    ")

        (self.alembicDir / "versions" / f"{revision}.py").write_text(
            REVISION.format(
                revision=revision, down=down, upgrade=body(upgrade), downgrade=body(downgrade)
            )
        )

    def metadata(self, schema: str | None = None) -> sa.MetaData:
        """Metadata like the plugin's models: ``item`` in ``schema`` (default: its own)."""
        metadata = sa.MetaData(schema=schema or self.schema)
        sa.Table(
            "item",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(50)),
        )
        return metadata

    def loaded(self, schema: str | None = None, storageHook: bool = True) -> LoadedPlugin:
        """A ``LoadedPlugin`` as the loader hands it to ``beforeLoad``."""
        metadata = self.metadata(schema)
        bases = (PluginLogicEntryHookABC, PluginLogicStorageEntryHookABC)
        namespace = {
            "load": lambda self: None,
            "start": lambda self: None,
            "stop": lambda self: None,
            "unload": lambda self: None,
            "dbMetadata": property(lambda self: metadata),
        }
        hookClass = type("EntryHook", bases if storageHook else bases[:1], namespace)
        plugin = LoadedPlugin(self.name)
        plugin.rootDir = self.rootDir
        plugin.metadata = readPluginMetadata(self.name, self.rootDir)
        # Stands in for the logic platform hook: the two attributes storage attaches to.
        plugin.platform = SimpleNamespace(pluginStorage=None, pluginSettings=None)
        plugin.entryHook = hookClass(self.name, str(self.rootDir), plugin.platform)
        return plugin


@pytest.fixture
def makePlugin(tmp_path: Path) -> Any:
    """Factory: ``makePlugin(name, settings=None)`` writes a plugin package under tmp."""
    return lambda name, settings=None: PluginWriter(tmp_path / "plugins", name, settings)


@pytest.fixture(params=["sqlite", "postgresql"])
def dbUrl(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database: a SQLite file, or a new one on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'home' / 'peek.sqlite'}"
    return request.getfixturevalue("peekPostgresUrl")


@pytest.fixture
def wait() -> Any:
    """``blockOn(deferred)``: block until a Deferred fired in a worker thread."""
    return blockOn
