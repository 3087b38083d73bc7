"""The embedded broker: kombu's SQLAlchemy transport on a SQLite file, tuned for one host.

kombu's transport polls every ``POLLING_INTERVAL`` seconds here instead of every second (an
idle worker would otherwise add up to a second to each task), and the SQLite file is in WAL
journalling, so the producer, the consumers and the result readers do not block each other.

Delivery is at-least-once, row by row. kombu's channel marks a delivered row invisible and
never touches it again (an acknowledged row stays forever; a row held by a worker whose
main process died is lost). Here, taking a row records its owner (host, pid and process
start) in ``OWNER_TABLE`` in the same transaction; an acknowledgement or a final reject
deletes the row; a requeue (a pool process died, warm shutdown, a reject with requeue)
makes the same row visible again, so nothing is copied or left behind. Every consumer
checks, at its first poll and every ``RECOVERY_INTERVAL_SECONDS``, for rows whose owner on
this host is gone (no such pid, a zombie, or the pid reused by a later process) and makes
them visible again. That check is valid because the embedded broker is single-host by
design: every process using the file shares its host name and process ids; rows owned on
another host name are left alone. Invisible rows without an owner are leftovers of kombu's
own channel (tasks delivered, almost always acknowledged, before this channel existed):
they are deleted, never run again. All processes on one broker file must run this channel.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.transport import sqlalchemy as kombuSqla
from sqlalchemy import bindparam, text
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

#: Seconds an idle consumer waits before looking for new messages again.
POLLING_INTERVAL = 0.02
#: Seconds a SQLite connection waits for another writer before failing.
BUSY_TIMEOUT_SECONDS = 30
#: Seconds between two checks of a consumer for rows held by processes that are gone.
RECOVERY_INTERVAL_SECONDS = 5.0
#: Table (in the broker file) of the owner of each delivered, unacknowledged row.
OWNER_TABLE = "peek_embedded_delivery"
#: Message property that carries the broker row id of a delivered message.
ROW_ID_PROPERTY = "peek_embedded_row_id"

_PROC = Path("/proc")
#: URLs of the broker files whose owner table this process has created (or found).
_OWNER_TABLE_READY: set[Any] = set()


def sqliteFileOf(url: str) -> Path:
    """The database file of a ``sqlite:///`` or ``db+sqlite:///`` URL."""
    parsed = make_url(url.removeprefix("db+"))
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        raise ValueError(f"{url!r} is not a SQLite file URL (sqlite:////abs/path.sqlite)")
    return Path(parsed.database).absolute()


def prepareSqliteFile(url: str) -> Path:
    """Create the directory and the database of a SQLite store URL, in WAL journal mode."""
    path = sqliteFileOf(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()
    return path


@functools.cache
def _bootId() -> str:
    """This boot of the host (so a start time is not mistaken for one before a reboot)."""
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def processStart(pid: int) -> str | None:
    """When process ``pid`` started (boot id and start tick), or None if it is gone.

    A zombie counts as gone. Without ``/proc`` only existence is known (``""``).
    """
    if not (_PROC / "self/stat").exists():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return ""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # Fields after the parenthesised command name: state is field 3, starttime field 22.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return f"{_bootId()}:{fields[19]}"


def ownerIsGone(host: str, pid: int, started: str) -> bool:
    """True if the owner process recorded as ``host``/``pid``/``started`` no longer runs.

    Only processes of this host can be checked; another host's owner is never gone.
    """
    return host == socket.gethostname() and processStart(pid) != started


class EmbeddedSqliteChannel(kombuSqla.Channel):
    """kombu's SQLAlchemy channel with row-based delivery, owner recovery and a session lock.

    kombu's channel keeps one ORM session, but a Celery worker uses the channel from two
    threads: the consumer polls while the pool thread acknowledges or requeues. Unserialised,
    the shared session fails (``IllegalStateChangeError``) and work is lost, so every session
    operation holds the lock. Delivery rules: see the module docstring.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._sessionLock = threading.RLock()
        self._nextRecovery = 0.0
        super().__init__(*args, **kwargs)

    def _open(self) -> Any:
        """kombu's engine and session factory, with the owner table created once."""
        opened = super()._open()
        engine = opened[0]
        if engine.url not in _OWNER_TABLE_READY:
            with engine.begin() as connection:
                connection.execute(
                    text(
                        f"CREATE TABLE IF NOT EXISTS {OWNER_TABLE} (message_id INTEGER "
                        "PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, "
                        "started TEXT NOT NULL)"
                    )
                )
            _OWNER_TABLE_READY.add(engine.url)
        return opened

    def _new_queue(self, queue: str, **kwargs: Any) -> Any:
        with self._sessionLock:
            return super()._new_queue(queue, **kwargs)

    # The parameters of kombu's SQLAlchemy channel, which renames the abstract channel's
    # ``message`` to ``payload``, so no signature matches both (kombu passes it by position).
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        with self._sessionLock:
            return super()._put(queue, payload, **kwargs)

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        """Take the oldest visible row of ``queue``, recording this process as its owner.

        The row id travels in the message's properties for ack, reject and restore.
        ``timeout`` (the abstract channel's) is ignored, like kombu's.
        """
        with self._sessionLock:
            if time.monotonic() >= self._nextRecovery:
                self.recoverOrphans()
            queueId = self._get_or_create(queue).id
            session = self.session
            session.execute(text("BEGIN IMMEDIATE TRANSACTION"))
            try:
                row = session.execute(
                    text(
                        f"SELECT id, payload FROM {self.message_tablename} "
                        "WHERE queue_id = :queue AND visible != 0 ORDER BY timestamp, id LIMIT 1"
                    ),
                    {"queue": queueId},
                ).first()
                if row is None:
                    raise Empty()
                session.execute(
                    text(f"UPDATE {self.message_tablename} SET visible = 0 WHERE id = :id"),
                    {"id": row.id},
                )
                session.execute(
                    text(
                        f"INSERT OR REPLACE INTO {OWNER_TABLE} (message_id, host, pid, started) "
                        "VALUES (:id, :host, :pid, :started)"
                    ),
                    {"id": row.id, **_ownIdentity()},
                )
                session.commit()
            except BaseException:
                session.rollback()
                raise
        message = json.loads(row.payload)
        message["properties"][ROW_ID_PROPERTY] = row.id
        return message

    def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> Any:
        """Acknowledge: the message's row and its owner record are deleted."""
        self._deleteRowOf(delivery_tag)
        return super().basic_ack(delivery_tag, multiple)

    def basic_reject(self, delivery_tag: Any, requeue: bool = False) -> Any:
        """Reject: the row is deleted, or made visible again (via ``_restore``) if requeued."""
        if not requeue:
            self._deleteRowOf(delivery_tag)
        return super().basic_reject(delivery_tag, requeue)

    def _restore(self, message: Any) -> Any:
        """Requeue ``message`` by making its own row visible again (kombu would copy it).

        ``_restore_at_beginning`` (reject with requeue) and ``restore_unacked`` (warm
        shutdown, channel close) both end here. The row keeps its place in the queue.
        """
        rowId = message.properties.get(ROW_ID_PROPERTY)
        if rowId is None:
            return super()._restore(message)
        self._releaseRows([rowId])
        return None

    def _deleteRowOf(self, deliveryTag: Any) -> None:
        """Delete the row (and owner record) of the delivered message ``deliveryTag``."""
        message = self.qos._delivered.get(deliveryTag)
        rowId = None if message is None else message.properties.get(ROW_ID_PROPERTY)
        if rowId is None:
            return
        self._writeRows(
            rowId,
            f"DELETE FROM {self.message_tablename} WHERE id = :id",
            f"DELETE FROM {OWNER_TABLE} WHERE message_id = :id",
        )

    def _releaseRows(self, rowIds: Sequence[int]) -> None:
        """Make rows visible again and forget their owners (one transaction)."""
        with self._sessionLock:
            session = self.session
            try:
                self._releaseRowsInTransaction(rowIds)
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def _releaseRowsInTransaction(self, rowIds: Sequence[int]) -> None:
        """The statements of ``_releaseRows``, in the session's current transaction."""
        for statement in (
            f"UPDATE {self.message_tablename} SET visible = 1 WHERE id IN :ids",
            f"DELETE FROM {OWNER_TABLE} WHERE message_id IN :ids",
        ):
            query = text(statement).bindparams(bindparam("ids", expanding=True))
            self.session.execute(query, {"ids": list(rowIds)})

    def _writeRows(self, rowId: int, *statements: str) -> None:
        """Run ``statements`` with ``:id`` = ``rowId`` in one transaction."""
        with self._sessionLock:
            session = self.session
            try:
                for statement in statements:
                    session.execute(text(statement), {"id": rowId})
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def recoverOrphans(self) -> int:
        """Make rows whose owner on this host is gone visible again; the number restored.

        Also deletes kombu's leftover invisible rows without owner (delivered before this
        channel existed) and owner records whose row is gone (purged).
        """
        with self._sessionLock:
            self._nextRecovery = time.monotonic() + RECOVERY_INTERVAL_SECONDS
            messages = self.message_tablename
            session = self.session
            session.execute(text("BEGIN IMMEDIATE TRANSACTION"))
            try:
                owners = session.execute(
                    text(f"SELECT message_id, host, pid, started FROM {OWNER_TABLE}")
                ).all()
                processes = {(o.host, o.pid, o.started) for o in owners}
                goneProcesses = {p for p in processes if ownerIsGone(*p)}
                gone = [o.message_id for o in owners if (o.host, o.pid, o.started) in goneProcesses]
                if gone:
                    self._releaseRowsInTransaction(gone)
                leftovers = session.execute(
                    text(
                        f"DELETE FROM {messages} WHERE visible = 0 AND id NOT IN "
                        f"(SELECT message_id FROM {OWNER_TABLE})"
                    )
                ).rowcount
                session.execute(
                    text(
                        f"DELETE FROM {OWNER_TABLE} WHERE message_id NOT IN "
                        f"(SELECT id FROM {messages})"
                    )
                )
                session.commit()
            except BaseException:
                session.rollback()
                raise
        if gone:
            pids = sorted({pid for _, pid, _ in goneProcesses})
            logger.warning(
                "Queued %d task message(s) again: the worker process(es) %s that took them "
                "are gone",
                len(gone),
                ", ".join(map(str, pids)),
            )
        if leftovers:
            logger.info("Deleted %d delivered message row(s) left by kombu's channel", leftovers)
        return len(gone)

    def _engine_from_config(self) -> Any:
        """Create the engine with the busy timeout, after preparing the file."""
        hostname = self.connection.client.hostname
        prepareSqliteFile(hostname)
        return kombuSqla.create_engine(hostname, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})


def _ownIdentity() -> dict[str, Any]:
    """Host, pid and start of this process, as recorded for the rows it takes."""
    return _identityOf(os.getpid())


@functools.cache
def _identityOf(pid: int) -> dict[str, Any]:
    """Host, pid and start of the running process ``pid`` (cached: a fork has a new pid)."""
    return {"host": socket.gethostname(), "pid": pid, "started": processStart(pid) or ""}


class EmbeddedSqliteTransport(kombuSqla.Transport):
    """The embedded broker transport (``broker_transport`` names this class)."""

    Channel = EmbeddedSqliteChannel
    polling_interval = POLLING_INTERVAL


#: Value of Celery's ``broker_transport`` setting for the embedded broker.
TRANSPORT_PATH = f"{__name__}:EmbeddedSqliteTransport"
