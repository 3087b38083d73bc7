"""A small plugin package for the testing-helper tests: logic with storage, field."""

from __future__ import annotations

import json
from pathlib import Path

#: The plugin package: a logic hook with storage and settings, a field hook with a resource.
PLUGIN_INIT = '''"""Harness test plugin."""

import sqlalchemy as sa
from twisted.web.resource import Resource

from peek_plugin_base.field.PluginFieldEntryHookABC import PluginFieldEntryHookABC
from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC
from peek_plugin_base.logic.PluginLogicStorageEntryHookABC import PluginLogicStorageEntryHookABC

metadata = sa.MetaData(schema="pl_{short}")
note = sa.Table("note", metadata, sa.Column("id", sa.Integer, primary_key=True))


class Recorder:
    def __init__(self, *args):
        super().__init__(*args)
        self.events = []

    def load(self):
        self.events.append("load")

    def start(self):
        self.events.append("start")
        if {failStart!r}:
            raise ValueError("start refused by the test")

    def stop(self):
        self.events.append("stop")

    def unload(self):
        self.events.append("unload")


class LogicHook(Recorder, PluginLogicEntryHookABC, PluginLogicStorageEntryHookABC):
    @property
    def dbMetadata(self):
        return metadata


class FieldHook(Recorder, PluginFieldEntryHookABC):
    def load(self):
        super().load()
        self.platform.addFieldResource(b"hello", Resource())


def peekLogicEntryHook():
    return LogicHook


def peekFieldEntryHook():
    return FieldHook
'''

ENV_PY = """\
from peek_plugin_base.storage.AlembicEnvBase import AlembicEnvBase
from {name} import metadata

AlembicEnvBase(metadata).run()
"""

REVISION = """\
revision = "r1"
down_revision = None
branch_labels = None
depends_on = None

from alembic import op
import sqlalchemy as sa


def upgrade():
    op.create_table("note", sa.Column("id", sa.Integer, primary_key=True), schema="pl_{short}")


def downgrade():
    op.drop_table("note", schema="pl_{short}")
"""


def writePlugin(root: Path, short: str, failStart: bool = False) -> str:
    """Write package ``peek_plugin_<short>`` under ``root``; return its name."""
    name = f"peek_plugin_{short}"
    package = root / name
    (package / "alembic" / "versions").mkdir(parents=True)
    (package / "__init__.py").write_text(PLUGIN_INIT.format(short=short, failStart=failStart))
    (package / "alembic" / "env.py").write_text(ENV_PY.format(name=name))
    (package / "alembic" / "versions" / "r1.py").write_text(REVISION.format(short=short))
    packageJson = {
        "plugin": {"title": short, "packageName": name, "version": "1.2.3"},
        "requiresServices": ["logic", "field", "storage"],
        "storage": {"alembicDir": "alembic"},
        "settings": [
            {"name": "greeting", "type": "str", "default": "hello", "description": "Greets."}
        ],
    }
    (package / "plugin_package.json").write_text(json.dumps(packageJson))
    return name
