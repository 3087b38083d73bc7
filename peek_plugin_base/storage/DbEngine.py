"""Create SQLAlchemy engines that behave the same on PostgreSQL and embedded SQLite.

SQLite has no schemas, so each schema is a database file ``<database dir>/<schema>.sqlite``
attached to every new connection under the schema's name; schema-qualified models and
migrations then run unchanged. The driver's implicit transaction handling is replaced by
explicit ``BEGIN`` so that DDL is transactional (a failed migration rolls back).

A deferred SQLite transaction that reads and then writes fails at once with "database is
locked" when another process writes at the same time (SQLite cannot upgrade its lock
without risking a deadlock); an ``IMMEDIATE`` one waits up to the busy timeout instead, at
the price of serialising every transaction. Engines choose with ``sqliteBegin``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url

from peek_plugin_base.storage.PluginSchema import checkSchemaName

#: Connection execution option naming the SQLite ``BEGIN`` mode (``"DEFERRED"``...).
SQLITE_BEGIN_OPTION = "peekSqliteBegin"


#: Driver used for a bare ``postgresql://`` URL.
POSTGRESQL_DEFAULT_DRIVER = "postgresql+psycopg2"

#: Seconds a SQLite connection waits for another writer before failing.
SQLITE_BUSY_TIMEOUT = 30


def sqliteDatabasePath(url: str | URL) -> Path | None:
    """The main database file of a SQLite URL, or ``None`` for another dialect."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise ValueError(
            f"SQLite URL {url.render_as_string(hide_password=True)!r} is in memory; Peek "
            "needs a database file (sqlite:////abs/path/peek.sqlite) so schemas can be "
            "attached beside it"
        )
    return Path(url.database).absolute()


def sqliteSchemaPath(url: str | URL, schemaName: str) -> Path:
    """The file holding ``schemaName`` for the SQLite database at ``url``."""
    database = sqliteDatabasePath(url)
    if database is None:
        raise ValueError(f"{schemaName}: not a SQLite URL")
    return database.parent / f"{checkSchemaName(schemaName)}.sqlite"


def createDbEngine(
    url: str | URL,
    engineArgs: dict[str, Any] | None = None,
    attachSchemas: Iterable[str] = (),
    *,
    sqliteBegin: str = "",
) -> Engine:
    """Create an engine for ``url``; on SQLite attach ``attachSchemas`` to each connection.

    ``sqliteBegin`` ("IMMEDIATE", ...) is the default ``BEGIN`` mode of its SQLite
    transactions (see the module docstring); it does nothing on other databases.
    """
    args = dict(engineArgs or {})
    url = make_url(url)
    if url.drivername == "postgresql":
        # SQLAlchemy 2.1 defaults to psycopg 3; Peek ships and tests psycopg2.
        url = url.set(drivername=POSTGRESQL_DEFAULT_DRIVER)
    databasePath = sqliteDatabasePath(url)
    if databasePath is None:
        return create_engine(url, **args)

    connectArgs = dict(args.pop("connect_args", {}))
    connectArgs.setdefault("timeout", SQLITE_BUSY_TIMEOUT)
    databasePath.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args=connectArgs, **args)
    schemaFiles = {name: sqliteSchemaPath(url, name) for name in attachSchemas}
    _installSqliteEvents(engine, schemaFiles)
    if sqliteBegin:
        return engine.execution_options(**{SQLITE_BEGIN_OPTION: sqliteBegin})
    return engine


def _installSqliteEvents(engine: Engine, schemaFiles: dict[str, Path]) -> None:
    """Attach schema files on connect and make transactions (including DDL) explicit."""

    @event.listens_for(engine, "connect")
    def _onConnect(dbapiConnection: Any, connectionRecord: Any) -> None:
        # Autocommit at the driver level: pysqlite would otherwise open transactions
        # only before DML, leaving DDL outside them. ``_onBegin`` emits BEGIN instead.
        dbapiConnection.isolation_level = None
        cursor = dbapiConnection.cursor()
        try:
            # Write-ahead logging: readers and the one writer do not block each other, so
            # logic and the worker processes sharing these files rarely see "locked".
            cursor.execute("PRAGMA journal_mode = WAL")
            for name, path in schemaFiles.items():
                cursor.execute(f'ATTACH DATABASE ? AS "{name}"', (str(path),))
                cursor.execute(f'PRAGMA "{name}".journal_mode = WAL')
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _onBegin(conn: Any) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "")
        if mode not in ("", "DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
            raise ValueError(
                f"{SQLITE_BEGIN_OPTION}={mode!r}: use DEFERRED, IMMEDIATE or EXCLUSIVE"
            )
        conn.exec_driver_sql(f"BEGIN {mode}".strip())
