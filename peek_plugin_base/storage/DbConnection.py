"""A plugin's database connection: migrations, engine, ORM sessions and id prefetching."""

from __future__ import annotations

import argparse
import contextlib
import logging
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, event, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker
from twisted.internet import threads
from twisted.internet.defer import Deferred
from twisted.python import threadable

from peek_plugin_base.storage.AlembicEnvBase import CONNECTION_ATTRIBUTE, ensureSchemaExists
from peek_plugin_base.storage.DbEngine import (
    SQLITE_BEGIN_OPTION,
    createDbEngine,
    sqliteDatabasePath,
)
from peek_plugin_base.storage.IdPrefetch import prefetchIds
from peek_plugin_base.storage.MigrationLock import (
    pgMigrationTransactionLock,
    sqliteMigrationFileLock,
)
from peek_plugin_base.storage.PluginSchema import checkSchemaName

logger = logging.getLogger(__name__)


class ReactorThreadDbError(RuntimeError):
    """Database work was attempted on the Twisted reactor thread, where it blocks everything."""


class MigrationError(RuntimeError):
    """An Alembic migration failed; it was rolled back and the schema is as it was."""


def refuseOnReactorThread(isReactorThread: Callable[[], bool], what: str) -> None:
    """Raise ``ReactorThreadDbError`` explaining ``what`` when called on the reactor thread."""
    if isReactorThread():
        raise ReactorThreadDbError(
            f"{what} on the reactor thread: a database call there blocks every connection "
            "of this service. Run the database work in a thread, e.g. "
            "`twisted.internet.threads.deferToThread(fn)`, and use the session inside fn."
        )


class _TrackingSessionMaker(sessionmaker):
    """A sessionmaker that remembers its open sessions so they can all be closed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sessions: weakref.WeakSet[Session] = weakref.WeakSet()

    def __call__(self, **local_kw: Any) -> Session:
        session = super().__call__(**local_kw)
        self._sessions.add(session)
        return session

    def closeAll(self) -> None:
        """Close every session this maker created that is still alive."""
        for session in list(self._sessions):
            session.close()


class DbConnection:
    """SQLAlchemy connection of one schema: migrates it and hands out engine and sessions.

    ``metadata`` must be schema qualified (``MetaData(schema="pl_tutorial")``); the
    Alembic version table lives in that schema. Sessions and migrations refuse to run on
    the reactor thread (``isReactorThread``); use ``deferToThread``.

    ``engine`` is an engine shared with other connections to the same database (the
    platform passes one per PostgreSQL URL, so many plugins share one bounded pool): it is
    used instead of creating one, and ``dispose()`` leaves it open for its owner to close.
    """

    def __init__(
        self,
        dbConnectString: str,
        metadata: MetaData,
        alembicDir: str,
        dbEngineArgs: dict[str, Any] | None = None,
        enableForeignKeys: bool = False,
        enableCreateAll: bool = True,
        *,
        reactor: Any = None,
        isReactorThread: Callable[[], bool] = threadable.isInIOThread,
        attachSchemas: Iterable[str] = (),
        engine: Engine | None = None,
    ) -> None:
        self._dbConnectString = dbConnectString
        self._metadata = metadata
        self._schema = checkSchemaName(metadata.schema)
        self._alembicDir = str(alembicDir)
        self._dbEngineArgs = dict(dbEngineArgs or {})
        self._enableForeignKeys = enableForeignKeys
        self._enableCreateAll = enableCreateAll
        self._reactor = reactor
        self._isReactorThread = isReactorThread
        self._attachSchemas = [self._schema, *(s for s in attachSchemas if s != self._schema)]
        self._lock = threading.Lock()
        self._sharedEngine = engine
        self._engine: Engine | None = engine
        self._sessionMaker: _TrackingSessionMaker | None = None

    @property
    def schema(self) -> str:
        """The schema this connection migrates."""
        return self._schema

    @property
    def alembicDir(self) -> str:
        """The Alembic script directory (``env.py``, ``versions/``)."""
        return self._alembicDir

    @property
    def dbEngine(self) -> Engine:
        """The engine (created on first use); prefer sessions for statements."""
        with self._lock:
            if self._engine is None:
                self._engine = createDbEngine(
                    self._dbConnectString, self._dbEngineArgs, self._attachSchemas
                )
            return self._engine

    @property
    def ormSessionCreator(self) -> Callable[..., Session]:
        """A callable returning a new ORM session; use it off the reactor thread, then close it."""
        engine = self.dbEngine
        with self._lock:
            if self._sessionMaker is None:
                # On SQLite a session's transaction begins IMMEDIATE: a deferred one that
                # reads and then writes fails at once with "database is locked" when another
                # thread or process wrote meanwhile (DbEngine's docstring); an immediate one
                # waits for the other writer instead. Other databases ignore the option.
                immediate = engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
                maker = _TrackingSessionMaker(bind=immediate)
                event.listen(maker, "do_orm_execute", self._guardOrmExecute)
                event.listen(maker, "after_begin", self._guardBegin)
                self._sessionMaker = maker
            return self._sessionMaker

    def checkNotReactorThread(self, what: str) -> None:
        """Raise ``ReactorThreadDbError`` when called on the reactor thread."""
        refuseOnReactorThread(self._isReactorThread, what)

    def _guardOrmExecute(self, orm_execute_state: Any) -> None:
        refuseOnReactorThread(self._isReactorThread, "ORM session used")

    def _guardBegin(self, session: Session, transaction: Any, connection: Any) -> None:
        refuseOnReactorThread(self._isReactorThread, "ORM session used")

    def alembicConfig(self, connection: Connection | None = None) -> Config:
        """An Alembic ``Config`` for this schema (no alembic.ini); ``connection`` for env.py."""
        # quiet: Alembic prints nothing; callers report what happened.
        config = Config(cmd_opts=argparse.Namespace(quiet=True))
        config.set_main_option("script_location", self._alembicDir)
        config.set_main_option("sqlalchemy.url", self._dbConnectString.replace("%", "%%"))
        if connection is not None:
            config.attributes[CONNECTION_ATTRIBUTE] = connection
        return config

    @contextlib.contextmanager
    def migrationConnection(self) -> Iterator[Connection]:
        """A connection in one transaction holding the cross-process migration lock."""
        refuseOnReactorThread(self._isReactorThread, "database migration run")
        engine = self.dbEngine
        databasePath = sqliteDatabasePath(self._dbConnectString)
        fileLock = (
            sqliteMigrationFileLock(databasePath)
            if databasePath is not None
            else contextlib.nullcontext()
        )
        with fileLock, engine.connect() as conn, conn.begin():
            if engine.dialect.name == "postgresql":
                pgMigrationTransactionLock(conn)
            ensureSchemaExists(conn, self._schema)
            yield conn

    def migrate(self) -> tuple[str, ...]:
        """Upgrade the schema to the newest revision, all in one transaction (blocking).

        Two processes never migrate at once; the second waits, then finds head and does
        nothing. On failure everything is rolled back and ``MigrationError`` names the
        schema and carries Alembic's error. With ``enableCreateAll`` an empty schema gets
        ``metadata.create_all()`` and is stamped at head instead of running each revision.
        Returns the revisions the schema is at afterwards: the scripts' heads.
        """
        reached: list[str] = []

        def upgrade(conn: Connection, config: Config) -> None:
            if self._enableCreateAll and self._isFreshSchema(conn):
                self._metadata.create_all(conn)
                command.stamp(config, "heads")
            else:
                command.upgrade(config, "heads")
            reached.extend(self._storedRevisions(conn))

        self._runAlembic("migration", upgrade)
        if self._enableForeignKeys:
            self.checkForeignKeys(self.dbEngine)
        return tuple(sorted(reached))

    def downgrade(self, revision: str) -> None:
        """Downgrade the schema to ``revision`` in one transaction (blocking)."""
        self._runAlembic(
            f"downgrade to {revision}", lambda conn, config: command.downgrade(config, revision)
        )

    def revision(self, message: str, autogenerate: bool = False) -> list[str]:
        """Write a new revision script into ``alembicDir/versions``; return the file paths."""
        written: list[str] = []

        def makeRevision(conn: Connection, config: Config) -> None:
            scripts = command.revision(config, message=message, autogenerate=autogenerate)
            for script in scripts if isinstance(scripts, list) else [scripts]:
                if script is not None:
                    written.append(script.path)

        self._runAlembic("revision", makeRevision)
        return written

    def currentRevisions(self) -> tuple[str, ...]:
        """The revisions the database is at (empty when never migrated)."""
        refuseOnReactorThread(self._isReactorThread, "database revision read")
        with self.dbEngine.connect() as conn:
            if not inspect(conn).has_table("alembic_version", schema=self._schema):
                return ()
            return self._storedRevisions(conn)

    def _storedRevisions(self, conn: Connection) -> tuple[str, ...]:
        """The rows of the schema's Alembic version table, read on ``conn``."""
        context = MigrationContext.configure(conn, opts={"version_table_schema": self._schema})
        return tuple(context.get_current_heads())

    def headRevisions(self) -> tuple[str, ...]:
        """The newest revisions of the scripts in ``alembicDir``."""
        return tuple(ScriptDirectory.from_config(self.alembicConfig()).get_heads())

    def _runAlembic(self, what: str, operation: Callable[[Connection, Config], None]) -> None:
        """Run ``operation`` under the migration lock in one transaction; wrap its errors."""
        try:
            with self.migrationConnection() as conn:
                operation(conn, self.alembicConfig(conn))
        except ReactorThreadDbError:
            raise
        except Exception as e:
            raise MigrationError(
                f"schema {self._schema}: {what} with {self._alembicDir} failed and was "
                f"rolled back: {type(e).__name__}: {e}"
            ) from e

    def _isFreshSchema(self, conn: Connection) -> bool:
        return not inspect(conn).get_table_names(schema=self._schema)

    def prefetchDeclarativeIds(self, Declarative: Any, count: int) -> Deferred[Iterator[int]]:
        """Reserve ``count`` ids of ``Declarative`` in a thread; Deferred of an iterator."""
        reactor = self._reactor
        if reactor is None:
            from twisted.internet import reactor
        return threads.deferToThreadPool(
            reactor,
            reactor.getThreadPool(),
            self.prefetchDeclarativeIdsBlocking,
            Declarative,
            count,
        )

    def prefetchDeclarativeIdsBlocking(self, Declarative: Any, count: int) -> Iterator[int]:
        """Reserve ``count`` ids of ``Declarative`` now (from a thread, worker or script)."""
        refuseOnReactorThread(self._isReactorThread, "prefetchDeclarativeIdsBlocking called")
        return iter(prefetchIds(self.dbEngine, Declarative, count))

    def closeAllSessions(self) -> None:
        """Close every ORM session handed out by ``ormSessionCreator``."""
        if self._sessionMaker is not None:
            self._sessionMaker.closeAll()

    def dispose(self) -> None:
        """Close all sessions and the engine's pooled connections (not a shared engine's)."""
        self.closeAllSessions()
        with self._lock:
            if self._engine is not None and self._engine is not self._sharedEngine:
                self._engine.dispose()
            self._engine = self._sharedEngine
            self._sessionMaker = None

    def checkForeignKeys(self, engine: Engine) -> None:
        """Log a WARNING for each foreign key of this schema whose columns have no index."""
        inspector = inspect(engine)
        for tableName in inspector.get_table_names(schema=self._schema):
            indexed = [
                tuple(index["column_names"])
                for index in inspector.get_indexes(tableName, schema=self._schema)
            ]
            primary = inspector.get_pk_constraint(tableName, schema=self._schema)
            indexed.append(tuple(primary.get("constrained_columns") or ()))
            for foreignKey in inspector.get_foreign_keys(tableName, schema=self._schema):
                columns = tuple(foreignKey["constrained_columns"])
                if not any(index[: len(columns)] == columns for index in indexed):
                    logger.warning(
                        "%s.%s: foreign key %s has no index on %s; add one, or joins and "
                        "deletes on %s scan the whole table",
                        self._schema,
                        tableName,
                        foreignKey.get("name") or "(unnamed)",
                        ", ".join(columns),
                        foreignKey["referred_table"],
                    )


def absoluteAlembicDir(pluginRootDir: str | Path, alembicDir: str) -> Path:
    """Resolve ``storage.alembicDir`` from plugin_package.json against the plugin package."""
    return (Path(pluginRootDir) / alembicDir).resolve()
