"""Create SQLAlchemy engines that behave the same on PostgreSQL and embedded SQLite.

SQLite has no schemas, so each schema is a database file ``<database dir>/<schema>.sqlite``
attached to every new connection under the schema's name; schema-qualified models and
migrations then run unchanged. The driver's implicit transaction handling is replaced by
explicit ``BEGIN`` so that DDL is transactional (a failed migration rolls back).

A deferred SQLite transaction that reads and then writes fails at once with "database is
locked" when another process writes at the same time (SQLite cannot upgrade its lock
without risking a deadlock); an ``IMMEDIATE`` one waits up to the busy timeout instead, at
the price of serialising every transaction. Engines choose with ``sqliteBegin``.

Within one process, ``IMMEDIATE`` and ``EXCLUSIVE`` transactions on one SQLite database
first queue on a lock of the process (:class:`SqliteWriteGate`), held until their commit or
rollback: SQLite's own busy handler makes a waiting connection sleep in growing steps (up to
100 ms), so threads of one process contending through it waited far longer than the
transactions took. Other processes (the worker's) still wait through the busy timeout.
Commits are ``synchronous = NORMAL``, the setting SQLite recommends with write-ahead
logging: a commit does not wait for the disk; the database stays consistent, and only a
power loss or an operating system crash (not a crash of the process) can undo the last
commits.
"""

from __future__ import annotations

import os
import sqlite3
import threading
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


#: ``BEGIN`` modes that take SQLite's write lock at once, so they queue on the write gate.
_WRITING_BEGIN_MODES = frozenset({"IMMEDIATE", "EXCLUSIVE"})


class SqliteWriteGate:
    """One process's queue for the write lock of one SQLite database file.

    A transaction that begins ``IMMEDIATE`` holds the gate from before its ``BEGIN`` until
    its commit or rollback, so the threads of a process take SQLite's write lock one after
    the other, each as soon as the previous one lets go. Waiting for the gate is bounded by
    the busy timeout; after that the ``BEGIN`` runs anyway and SQLite decides, as without
    the gate (so a thread beginning a second write transaction while it holds one cannot
    hang for ever).
    """

    _gates: dict[tuple[int, str], SqliteWriteGate] = {}
    _gatesLock = threading.Lock()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: ``threading.get_ident()`` of the thread that holds the gate, or None.
        self._owner: int | None = None

    @classmethod
    def forDatabase(cls, databasePath: Path) -> SqliteWriteGate:
        """The gate of the database file at ``databasePath`` (one per file and process: a
        forked worker pool process gets its own, never one its parent held at the fork)."""
        key = (os.getpid(), str(databasePath))
        with cls._gatesLock:
            gate = cls._gates.get(key)
            if gate is None:
                gate = cls._gates[key] = cls()
            return gate

    def acquire(self, timeout: float) -> bool:
        """Wait for the gate, at most ``timeout`` seconds; True when it is now held.

        A thread already holding it gets False at once: its second transaction goes to
        SQLite, which makes it wait for the first as it did without the gate.
        """
        me = threading.get_ident()
        if self._owner == me or not self._lock.acquire(timeout=timeout):
            return False
        self._owner = me
        return True

    def release(self) -> None:
        """Let the next transaction in."""
        self._owner = None
        self._lock.release()


class _GatedSqliteConnection(sqlite3.Connection):
    """A pysqlite connection that lets go of its write gate when its transaction ends."""

    heldGate: SqliteWriteGate | None = None

    def releaseGate(self) -> None:
        """Release the gate this connection holds, if any."""
        gate, self.heldGate = self.heldGate, None
        if gate is not None:
            gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.releaseGate()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.releaseGate()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.releaseGate()


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
    connectArgs.setdefault("factory", _GatedSqliteConnection)
    databasePath.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args=connectArgs, **args)
    schemaFiles = {name: sqliteSchemaPath(url, name) for name in attachSchemas}
    gate = SqliteWriteGate.forDatabase(databasePath)
    _installSqliteEvents(engine, schemaFiles, gate, SQLITE_BUSY_TIMEOUT)
    if sqliteBegin:
        return engine.execution_options(**{SQLITE_BEGIN_OPTION: sqliteBegin})
    return engine


def _installSqliteEvents(
    engine: Engine, schemaFiles: dict[str, Path], gate: SqliteWriteGate, gateTimeout: float
) -> None:
    """Attach schema files on connect and make transactions (including DDL) explicit;
    writing transactions queue on ``gate`` first."""

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
            cursor.execute("PRAGMA synchronous = NORMAL")
            for name, path in schemaFiles.items():
                cursor.execute(f'ATTACH DATABASE ? AS "{name}"', (str(path),))
                cursor.execute(f'PRAGMA "{name}".journal_mode = WAL')
                cursor.execute(f'PRAGMA "{name}".synchronous = NORMAL')
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
        dbapiConnection = conn.connection.dbapi_connection
        if mode not in _WRITING_BEGIN_MODES or not isinstance(
            dbapiConnection, _GatedSqliteConnection
        ):
            conn.exec_driver_sql(f"BEGIN {mode}".strip())
            return
        dbapiConnection.releaseGate()  # a transaction that ended without commit/rollback
        if gate.acquire(gateTimeout):
            dbapiConnection.heldGate = gate
        try:
            conn.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            dbapiConnection.releaseGate()
            raise
