"""Database access for Celery tasks running in the worker service (manual ch. 11, worker).

Each worker pool process has its own engine (created after the fork) and each task its
own session, closed by the platform when the task ends, so a task just does::

    session = CeleryDbConn.getDbSession()
    session.add(row)
    session.commit()

The database is the logic service's (``sqlalchemy.connectUrl`` in the worker's config);
on SQLite every plugin schema file is attached, as on logic.

Fork safety: a prefork pool forks its processes from the worker's main process, and a
database connection inherited across ``fork`` is shared by two processes and corrupts both.
So the engine is created in each pool process (on ``worker_process_init``, or lazily on
first use) and again whenever the process id changes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from peek_plugin_base.storage.DbEngine import createDbEngine, sqliteDatabasePath
from peek_plugin_base.storage.IdPrefetch import prefetchIds
from peek_plugin_base.storage.PluginSchema import SchemaNameError, checkSchemaName


class WorkerDbNotConfigured(RuntimeError):
    """``CeleryDbConn`` was used in a process where the worker service did not configure it."""


def sqliteSchemasBeside(url: str) -> list[str]:
    """Schema names of the ``<schema>.sqlite`` files next to a SQLite database (else [])."""
    database = sqliteDatabasePath(url)
    if database is None or not database.parent.is_dir():
        return []
    names = []
    for path in sorted(database.parent.glob("*.sqlite")):
        if path == database:
            continue
        try:
            names.append(checkSchemaName(path.stem))
        except SchemaNameError:
            continue
    return names


class WorkerDbConn:
    """The database connection of one worker process (fork safe, session per task)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._url: str | None = None
        self._engineArgs: dict[str, Any] = {}
        self._attachSchemas: tuple[str, ...] = ()
        self._engine: Engine | None = None
        self._enginePid: int | None = None
        self._sessions: scoped_session[Session] | None = None

    def configure(
        self, url: str, engineArgs: dict[str, Any] | None = None, attachSchemas: Sequence[str] = ()
    ) -> None:
        """Set the database (call in the worker's main process, before the pool forks)."""
        with self._lock:
            self._url = url
            self._engineArgs = dict(engineArgs or {})
            self._attachSchemas = tuple(dict.fromkeys(attachSchemas))
            self._dropEngine(close=self._enginePid == os.getpid())

    @property
    def url(self) -> str | None:
        """The configured database URL, or None."""
        return self._url

    @property
    def attachSchemas(self) -> tuple[str, ...]:
        """The schemas attached to every SQLite connection (their files beside the database)."""
        return self._attachSchemas

    def engine(self) -> Engine:
        """This process's engine; created on first use and again after a fork."""
        with self._lock:
            if self._url is None:
                raise WorkerDbNotConfigured(
                    "CeleryDbConn is not configured in this process: only tasks running in the "
                    "Peek worker service have a database (sqlalchemy.connectUrl of its "
                    "config.json). In tests, call CeleryDbConn.configureWorkerDb(url) first."
                )
            if self._engine is None or self._enginePid != os.getpid():
                # An engine inherited from the parent is abandoned without closing its
                # connections: they belong to the parent.
                self._dropEngine(close=False)
                # Tasks in several pool processes read then write the same SQLite files:
                # immediate transactions wait for each other instead of failing "locked".
                self._engine = createDbEngine(
                    self._url, self._engineArgs, self._attachSchemas, sqliteBegin="IMMEDIATE"
                )
                self._enginePid = os.getpid()
                self._sessions = scoped_session(sessionmaker(bind=self._engine))
            return self._engine

    def session(self) -> Session:
        """The ORM session of the running task (the same one until ``endTask``)."""
        self.engine()
        assert self._sessions is not None
        return self._sessions()

    def endTask(self) -> None:
        """Close the running task's session, rolling back anything it left uncommitted."""
        if self._sessions is not None and self._enginePid == os.getpid():
            self._sessions.remove()

    def shutdown(self) -> None:
        """Close the session and every pooled connection of this process."""
        with self._lock:
            self._dropEngine(close=self._enginePid == os.getpid())

    def prefetchDeclarativeIds(self, Declarative: Any, count: int) -> Iterator[int]:
        """Reserve ``count`` ids of ``Declarative``'s table; unique across processes."""
        return iter(prefetchIds(self.engine(), Declarative, count))

    def _dropEngine(self, *, close: bool) -> None:
        """Forget the engine; ``close`` its sessions and connections when they are ours."""
        if self._sessions is not None and close:
            self._sessions.remove()
        if self._engine is not None:
            self._engine.dispose(close=close)
        self._engine = None
        self._enginePid = None
        self._sessions = None


def workerAttachSchemas(url: str, pluginSchemas: Iterable[str]) -> list[str]:
    """Schemas a worker attaches on SQLite: its plugins' schemas and every schema file present."""
    if sqliteDatabasePath(url) is None:
        return []
    return list(dict.fromkeys([*pluginSchemas, *sqliteSchemasBeside(url)]))


#: The connection of this process; the worker service configures it before forking.
processDbConn = WorkerDbConn()


def configureWorkerDb(
    url: str, engineArgs: dict[str, Any] | None = None, attachSchemas: Sequence[str] = ()
) -> None:
    """Point this process's task database at ``url`` (the worker service does this)."""
    processDbConn.configure(url, engineArgs, attachSchemas)


def getDbEngine() -> Engine:
    """The SQLAlchemy engine of this worker process."""
    return processDbConn.engine()


def getDbSession() -> Session:
    """The ORM session of the running task; the platform closes it when the task ends."""
    return processDbConn.session()


def prefetchDeclarativeIds(Declarative: Any, count: int) -> Iterator[int]:
    """Reserve ``count`` ids for ``Declarative``'s table; an iterator dispensing them."""
    return processDbConn.prefetchDeclarativeIds(Declarative, count)
