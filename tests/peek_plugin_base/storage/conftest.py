"""Fixtures for the storage tests: a database URL per dialect, alembic dirs, blockOn."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from peek_plugin_base.testing.ThreadReactor import blockOn

ENV_PY = """\
import sqlalchemy as sa

from peek_plugin_base.storage.AlembicEnvBase import AlembicEnvBase

metadata = sa.MetaData(schema="{schema}")
sa.Table(
    "item",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(50)),
)
sa.Table("run_log", metadata, sa.Column("id", sa.Integer, primary_key=True),
         sa.Column("revision", sa.String(20)))
AlembicEnvBase(metadata).run()
"""

SCRIPT_MAKO = '''\
"""${{message}}"""
revision = ${{repr(up_revision)}}
down_revision = ${{repr(down_revision)}}
branch_labels = None
depends_on = None

from alembic import op
import sqlalchemy as sa
${{imports if imports else ""}}

def upgrade():
    ${{upgrades if upgrades else "pass"}}


def downgrade():
    ${{downgrades if downgrades else "pass"}}
'''

#: The first revision: the ``item`` and ``run_log`` tables, and a row recording the run.
REV1_UPGRADE = """
op.create_table("item", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("name", sa.String(50)), schema="{schema}")
op.create_table("run_log", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("revision", sa.String(20)), schema="{schema}")
op.execute("INSERT INTO {schema}.run_log (revision) VALUES ('r1')")
"""
REV1_DOWNGRADE = """
op.drop_table("run_log", schema="{schema}")
op.drop_table("item", schema="{schema}")
"""


class AlembicDirWriter:
    """Writes an Alembic directory with ``env.py`` and revision scripts for one schema."""

    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        self.schema = schema
        (path / "versions").mkdir(parents=True)
        (path / "env.py").write_text(ENV_PY.format(schema=schema))
        (path / "script.py.mako").write_text(SCRIPT_MAKO.format())

    def addRevision(
        self, revision: str, downRevision: str | None, upgrade: str, downgrade: str = "pass"
    ) -> None:
        """Add ``versions/<revision>.py`` with the given upgrade/downgrade bodies."""
        body = f"""\
revision = {revision!r}
down_revision = {downRevision!r}
branch_labels = None
depends_on = None

from alembic import op
import sqlalchemy as sa


def upgrade():
{textwrap.indent(textwrap.dedent(upgrade).format(schema=self.schema).strip() or "pass", "    ")}


def downgrade():
{textwrap.indent(textwrap.dedent(downgrade).format(schema=self.schema).strip() or "pass", "    ")}
"""
        (self.path / "versions" / f"{revision}.py").write_text(body)

    def addFirstRevision(self) -> None:
        """Add revision ``r1`` creating ``item`` and ``run_log``."""
        self.addRevision("r1", None, REV1_UPGRADE, REV1_DOWNGRADE)


@pytest.fixture
def alembicDir(tmp_path: Path) -> AlembicDirWriter:
    """An Alembic directory for schema ``pl_alpha`` holding revision ``r1``."""
    writer = AlembicDirWriter(tmp_path / "alembic", "pl_alpha")
    writer.addFirstRevision()
    return writer


@pytest.fixture(params=["sqlite", "postgresql"])
def dbUrl(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database: a SQLite file, or a new one on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'peek.sqlite'}"
    return request.getfixturevalue("peekPostgresUrl")


@pytest.fixture
def wait() -> Any:
    """``blockOn(deferred)``: block until a Deferred fired in a worker thread."""
    return blockOn


@pytest.fixture
def makeAlembicDir(tmp_path: Path) -> Any:
    """Factory: ``makeAlembicDir(name, schema)`` returns an empty ``AlembicDirWriter``."""
    return lambda name, schema: AlembicDirWriter(tmp_path / name, schema)
