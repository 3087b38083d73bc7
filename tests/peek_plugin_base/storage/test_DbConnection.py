"""DbConnection: migrations, locking, rollback, sessions and id prefetching on both dialects."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy import inspect
from twisted.python import threadable

from peek_plugin_base.storage.DbConnection import (
    DbConnection,
    MigrationError,
    ReactorThreadDbError,
)
from peek_plugin_base.storage.DbEngine import SQLITE_BEGIN_OPTION, sqliteSchemaPath

BROKEN_UPGRADE = """
op.create_table("extra", sa.Column("id", sa.Integer, primary_key=True), schema="{schema}")
op.execute("INSERT INTO {schema}.no_such_table VALUES (1)")
"""

REV2_UPGRADE = """
op.add_column("item", sa.Column("colour", sa.String(20)), schema="{schema}")
op.execute("INSERT INTO {schema}.run_log (revision) VALUES ('r2')")
"""


def metadataFor(schema: str) -> tuple[sa.MetaData, sa.Table]:
    metadata = sa.MetaData(schema=schema)
    item = sa.Table(
        "item",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50)),
    )
    return metadata, item


def connect(dbUrl: str, alembicDir, **kwargs) -> DbConnection:
    metadata, _ = metadataFor(alembicDir.schema)
    kwargs.setdefault("enableCreateAll", False)
    return DbConnection(dbUrl, metadata, str(alembicDir.path), **kwargs)


def runLog(db: DbConnection) -> list[str]:
    with db.dbEngine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT revision FROM {db.schema}.run_log ORDER BY id"))
        return [row[0] for row in rows]


def tableNames(db: DbConnection) -> set[str]:
    return set(inspect(db.dbEngine).get_table_names(schema=db.schema))


def test_freshInstallMigratesToHead(dbUrl, alembicDir):
    """A new database gets the schema, the plugin's tables and the version table in the schema."""
    db = connect(dbUrl, alembicDir)
    db.migrate()
    assert db.currentRevisions() == ("r1",)
    assert tableNames(db) == {"item", "run_log", "alembic_version"}
    assert runLog(db) == ["r1"]
    db.dispose()


def test_upgradeFromFirstRevision(dbUrl, alembicDir):
    """A database at r1 is upgraded to a newly added r2 and keeps its rows."""
    db = connect(dbUrl, alembicDir)
    db.migrate()
    with db.dbEngine.begin() as conn:
        conn.execute(sa.text("INSERT INTO pl_alpha.item (name) VALUES ('kept')"))
    alembicDir.addRevision("r2", "r1", REV2_UPGRADE)
    db.migrate()
    assert db.currentRevisions() == ("r2",)
    assert runLog(db) == ["r1", "r2"]
    with db.dbEngine.connect() as conn:
        assert conn.execute(sa.text("SELECT name, colour FROM pl_alpha.item")).all() == [
            ("kept", None)
        ]
    db.dispose()


def test_migrateAtHeadDoesNothing(dbUrl, alembicDir):
    """Migrating again at head runs no revision."""
    db = connect(dbUrl, alembicDir)
    db.migrate()
    db.migrate()
    assert runLog(db) == ["r1"]
    db.dispose()


def test_brokenMigrationRolledBack(dbUrl, alembicDir):
    """A failing revision raises MigrationError with the DB error; the schema stays as it was."""
    db = connect(dbUrl, alembicDir)
    db.migrate()
    alembicDir.addRevision("r2", "r1", BROKEN_UPGRADE)
    with pytest.raises(MigrationError, match="no_such_table") as info:
        db.migrate()
    assert "pl_alpha" in str(info.value)
    assert db.currentRevisions() == ("r1",)
    assert tableNames(db) == {"item", "run_log", "alembic_version"}
    db.dispose()


def test_brokenFreshInstallLeavesNothing(dbUrl, alembicDir):
    """When a fresh install fails, not even the first revision's tables remain."""
    alembicDir.addRevision("r2", "r1", BROKEN_UPGRADE)
    db = connect(dbUrl, alembicDir)
    with pytest.raises(MigrationError):
        db.migrate()
    assert tableNames(db) == set()
    assert db.currentRevisions() == ()
    db.dispose()


def test_enableCreateAllStampsFreshSchema(dbUrl, alembicDir):
    """With enableCreateAll an empty schema gets create_all() and is stamped at head."""
    db = connect(dbUrl, alembicDir, enableCreateAll=True)
    db.migrate()
    assert db.currentRevisions() == ("r1",)
    assert "item" in tableNames(db)
    assert "run_log" not in tableNames(db)
    db.dispose()


def test_downgradeToBase(dbUrl, alembicDir):
    """downgrade('base') drops the first revision's tables."""
    db = connect(dbUrl, alembicDir)
    db.migrate()
    db.downgrade("base")
    assert db.currentRevisions() == ()
    assert tableNames(db) == {"alembic_version"}
    db.dispose()


def test_prefetchIdsUniqueAcrossThreads(dbUrl, alembicDir):
    """Concurrent prefetchDeclarativeIds callers never get the same id, nor an id in use."""
    db = connect(dbUrl, alembicDir)
    db.migrate()
    _, item = metadataFor("pl_alpha")
    with db.dbEngine.begin() as conn:
        conn.execute(item.insert().values(name="existing"))
        existing = conn.execute(sa.select(item.c.id)).scalar_one()
    got: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(10):
                ids = list(db.prefetchDeclarativeIdsBlocking(item, 5))
                with lock:
                    got.extend(ids)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(got) == 8 * 10 * 5
    assert len(set(got)) == len(got)
    assert existing not in got
    db.dispose()


def test_prefetchIdsUsableForInsert(dbUrl, alembicDir, peekThreadReactor, wait):
    """prefetchDeclarativeIds returns a Deferred of ids that insert without conflict."""
    db = connect(dbUrl, alembicDir, reactor=peekThreadReactor)
    db.migrate()
    _, item = metadataFor("pl_alpha")
    ids = list(wait(db.prefetchDeclarativeIds(item, 3)))
    with db.dbEngine.begin() as conn:
        conn.execute(item.insert(), [{"id": i, "name": str(i)} for i in ids])
        conn.execute(item.insert().values(name="auto"))
    more = list(wait(db.prefetchDeclarativeIds(item, 2)))
    with db.dbEngine.connect() as conn:
        used = set(conn.execute(sa.select(item.c.id)).scalars())
    assert len(ids) == 3
    assert used.isdisjoint(more)
    db.dispose()


def test_sessionOnReactorThreadRefused(dbUrl, alembicDir):
    """An ORM session used on the reactor thread raises an error that says to use deferToThread."""
    db = connect(dbUrl, alembicDir, isReactorThread=lambda: True)
    session = db.ormSessionCreator()
    with pytest.raises(ReactorThreadDbError, match="deferToThread"):
        session.execute(sa.text("SELECT 1"))
    session.close()
    db.dispose()


def test_sessionGuardUsesTwistedIoThread(dbUrl, alembicDir, monkeypatch):
    """By default the guard refuses the thread Twisted registered as its reactor thread."""
    db = connect(dbUrl, alembicDir)
    session = db.ormSessionCreator()
    assert session.execute(sa.text("SELECT 1")).scalar_one() == 1
    session.close()
    monkeypatch.setattr(threadable, "ioThread", threadable.getThreadID())
    refused = db.ormSessionCreator()
    with pytest.raises(ReactorThreadDbError):
        refused.execute(sa.text("SELECT 1"))
    refused.close()
    db.dispose()


def test_migrateOnReactorThreadRefused(dbUrl, alembicDir):
    """migrate() on the reactor thread is refused before touching the database."""
    db = connect(dbUrl, alembicDir, isReactorThread=lambda: True)
    with pytest.raises(ReactorThreadDbError):
        db.migrate()
    db.dispose()


def test_closeAllSessions(dbUrl, alembicDir):
    """closeAllSessions closes every session the creator handed out."""
    db = connect(dbUrl, alembicDir)
    db.migrate()
    sessions = [db.ormSessionCreator() for _ in range(3)]
    for session in sessions:
        # Read-only transactions begin DEFERRED, so three can be open in one thread on
        # SQLite (a session's default IMMEDIATE one would wait for the first to end).
        session.connection(execution_options={SQLITE_BEGIN_OPTION: "DEFERRED"})
        session.execute(sa.text("SELECT 1"))
    assert all(session.in_transaction() for session in sessions)
    db.closeAllSessions()
    assert not any(session.in_transaction() for session in sessions)
    db.dispose()


def test_checkForeignKeysWarnsOnUnindexedKey(dbUrl, makeAlembicDir, caplog):
    """checkForeignKeys logs a foreign key that has no index, and not an indexed one."""
    alembic = makeAlembicDir("fk", "pl_fk")
    alembic.addRevision(
        "f1",
        None,
        """
        op.create_table("parent", sa.Column("id", sa.Integer, primary_key=True), schema="{schema}")
        op.create_table("child", sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("parent_id", sa.Integer, sa.ForeignKey("{schema}.parent.id")),
                        sa.Column("other_id", sa.Integer, sa.ForeignKey("{schema}.parent.id")),
                        schema="{schema}")
        op.create_index("ix_child_other", "child", ["other_id"], schema="{schema}")
        """,
    )
    db = DbConnection(dbUrl, sa.MetaData(schema="pl_fk"), str(alembic.path), enableCreateAll=False)
    db.migrate()
    db.checkForeignKeys(db.dbEngine)
    messages = [r.getMessage() for r in caplog.records]
    assert any("parent_id" in m for m in messages)
    assert not any("other_id" in m for m in messages)
    db.dispose()


def test_sqliteSchemaIsAttachedFile(tmp_path, alembicDir):
    """On SQLite the plugin schema is the file <database dir>/<schema>.sqlite."""
    url = f"sqlite:///{tmp_path / 'db' / 'peek.sqlite'}"
    db = connect(url, alembicDir)
    db.migrate()
    schemaFile = sqliteSchemaPath(url, "pl_alpha")
    assert schemaFile == tmp_path / "db" / "pl_alpha.sqlite"
    import sqlite3

    conn = sqlite3.connect(schemaFile)
    try:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    assert {"item", "run_log", "alembic_version"} <= names
    db.dispose()


def test_inMemorySqliteRefused(alembicDir):
    """An in-memory SQLite URL is refused with a message asking for a file."""
    db = connect("sqlite://", alembicDir)
    with pytest.raises(ValueError, match="database file"):
        db.dbEngine  # noqa: B018


def test_sqliteOrmSessionsReadThenWriteConcurrentlyNeverLocked(tmp_path, alembicDir):
    """Eight threads each read then update one row 25 times through ORM sessions on the
    embedded SQLite: no "database is locked", and no update is lost."""
    db = connect(f"sqlite:///{tmp_path / 'db' / 'peek.sqlite'}", alembicDir)
    db.migrate()
    _, item = metadataFor(alembicDir.schema)
    with db.dbEngine.begin() as conn:
        conn.execute(item.insert().values(id=1, name="0"))
    errors: list[BaseException] = []

    def increment() -> None:
        try:
            for _ in range(25):
                session = db.ormSessionCreator()
                try:
                    name = session.execute(
                        sa.select(item.c.name).where(item.c.id == 1)
                    ).scalar_one()
                    session.execute(
                        item.update().where(item.c.id == 1).values(name=str(int(name) + 1))
                    )
                    session.commit()
                finally:
                    session.close()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=increment) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [str(e).splitlines()[0] for e in errors] == []
    with db.dbEngine.connect() as conn:
        assert conn.execute(sa.select(item.c.name)).scalar_one() == "200"
    db.dispose()
