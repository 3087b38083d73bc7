"""The fast migration check: Alembic is skipped only at the remembered head of unchanged
scripts; a schema behind is migrated and a database ahead refused, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from peek_platform.storage.migration_check import (
    HEADS_CACHE_FILE,
    AlembicHeadsCache,
    alembicFingerprint,
    migrateUnlessAtHead,
)
from peek_platform.storage.platform_schema import PLATFORM_ALEMBIC_DIR, platformMetadata
from peek_platform.storage.plugin_install import isRecordedAt, runInstallSteps
from peek_plugin_base.storage.DbConnection import DbConnection, MigrationError

R2_UPGRADE = """
op.create_table("extra", sa.Column("id", sa.Integer, primary_key=True), schema="{schema}")
op.execute("INSERT INTO {schema}.run_log (revision) VALUES ('r2')")
"""


class CountingDbConnection(DbConnection):
    """A real DbConnection counting how often it builds an Alembic config (every Alembic
    run, script directory load included, starts there)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.alembicConfigs = 0

    def alembicConfig(self, connection: Any = None) -> Any:
        self.alembicConfigs += 1
        return super().alembicConfig(connection)


def connect(dbUrl: str, plugin: Any) -> CountingDbConnection:
    return CountingDbConnection(
        dbUrl,
        plugin.metadata(),
        str(plugin.alembicDir),
        enableCreateAll=False,
        isReactorThread=lambda: False,
    )


def runLog(db: DbConnection, schema: str) -> list[str]:
    with db.dbEngine.connect() as conn:
        return list(conn.execute(sa.text(f"SELECT revision FROM {schema}.run_log")).scalars())


@pytest.fixture
def cachePath(tmp_path: Path) -> Path:
    return tmp_path / "logic-home" / HEADS_CACHE_FILE


def test_unchangedScriptsAtHeadSkipAlembic(dbUrl, makePlugin, cachePath) -> None:
    """A restart with unchanged scripts and the database at head never runs Alembic, and the
    remembered heads survive in the cache file."""
    plugin = makePlugin("alpha")
    first = connect(dbUrl, plugin)
    assert migrateUnlessAtHead(first, AlembicHeadsCache(cachePath)) is True
    first.dispose()

    again = connect(dbUrl, plugin)
    try:
        assert migrateUnlessAtHead(again, AlembicHeadsCache(cachePath)) is False
        assert again.alembicConfigs == 0
        assert again.currentRevisions() == ("r1",)
    finally:
        again.dispose()


def test_schemaBehindIsMigrated(dbUrl, makePlugin, cachePath) -> None:
    """A revision added after the heads were remembered is run on the next check."""
    plugin = makePlugin("alpha")
    cache = AlembicHeadsCache(cachePath)
    db = connect(dbUrl, plugin)
    try:
        migrateUnlessAtHead(db, cache)
        plugin.addRevision("r2", "r1", R2_UPGRADE)
        assert migrateUnlessAtHead(db, cache) is True
        assert db.currentRevisions() == ("r2",)
        assert runLog(db, plugin.schema) == ["r1", "r2"]
        assert cache.heads(plugin.alembicDir, alembicFingerprint(plugin.alembicDir)) == ("r2",)
    finally:
        db.dispose()


def test_databaseAheadIsRefused(dbUrl, makePlugin, cachePath) -> None:
    """A database at a revision the plugin does not have is refused with an error naming
    the schema and that revision, although the scripts match the remembered heads."""
    plugin = makePlugin("alpha")
    cache = AlembicHeadsCache(cachePath)
    db = connect(dbUrl, plugin)
    try:
        migrateUnlessAtHead(db, cache)
        with db.dbEngine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {plugin.schema}.alembic_version SET version_num='r9'"))
        with pytest.raises(MigrationError, match=r"pl_alpha.*r9"):
            migrateUnlessAtHead(db, cache)
        assert db.currentRevisions() == ("r9",)
    finally:
        db.dispose()


def test_editedRevisionInvalidatesTheCache(dbUrl, makePlugin, cachePath) -> None:
    """Editing a revision file changes the fingerprint, so Alembic checks the schema again."""
    plugin = makePlugin("alpha")
    db = connect(dbUrl, plugin)
    try:
        migrateUnlessAtHead(db, AlembicHeadsCache(cachePath))
        revision = plugin.alembicDir / "versions" / "r1.py"
        revision.write_text(revision.read_text() + "\n# edited\n")
        before = db.alembicConfigs
        assert migrateUnlessAtHead(db, AlembicHeadsCache(cachePath)) is True
        assert db.alembicConfigs > before
        assert runLog(db, plugin.schema) == ["r1"]
    finally:
        db.dispose()


def test_installRecordReadWithoutTheLock(dbUrl, makePlugin, tmp_path) -> None:
    """``isRecordedAt`` says yes only when the install record holds exactly that version."""
    platform = DbConnection(
        dbUrl,
        platformMetadata,
        str(PLATFORM_ALEMBIC_DIR),
        enableCreateAll=False,
        isReactorThread=lambda: False,
    )
    try:
        platform.migrate()
        assert isRecordedAt(platform, "peek_plugin_alpha", "1.0.0") is False
        runInstallSteps(platform, "peek_plugin_alpha", "1.0.0", None, tmp_path / "data")
        assert isRecordedAt(platform, "peek_plugin_alpha", "1.0.0") is True
        assert isRecordedAt(platform, "peek_plugin_alpha", "1.1.0") is False
    finally:
        platform.dispose()
