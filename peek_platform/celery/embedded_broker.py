"""The embedded broker: kombu's SQLAlchemy transport on a SQLite file, tuned for one host.

kombu's transport is used as is, except that it polls every ``POLLING_INTERVAL`` seconds
instead of every second (an idle worker would otherwise add up to a second to each task)
and that the SQLite file is switched to WAL journalling, so the producer, the consumers
and readers of the result store do not block each other. Delivery is at-least-once for a
killed *pool process*: the worker's main process sees the loss and, with
``task_reject_on_worker_lost``, puts the message back. A message held by a worker *main*
process that dies is not restored (kombu marks it invisible); Redis restores it after its
visibility timeout. The admin docs say so.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from kombu.transport import sqlalchemy as kombuSqla
from sqlalchemy.engine import make_url

#: Seconds an idle consumer waits before looking for new messages again.
POLLING_INTERVAL = 0.02
#: Seconds a SQLite connection waits for another writer before failing.
BUSY_TIMEOUT_SECONDS = 30


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


class EmbeddedSqliteChannel(kombuSqla.Channel):
    """kombu's SQLAlchemy channel with a busy timeout and one lock around its session.

    kombu's channel keeps one ORM session, but a Celery worker uses the channel from two
    threads: the consumer polls while the pool thread requeues the task of a pool process
    that died. Unserialised, the shared session fails (``IllegalStateChangeError``) and the
    requeued task is lost, so every session operation holds the lock.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._sessionLock = threading.RLock()
        super().__init__(*args, **kwargs)

    def _new_queue(self, queue: str, **kwargs: Any) -> Any:
        with self._sessionLock:
            return super()._new_queue(queue, **kwargs)

    # The parameters of kombu's SQLAlchemy channel, which renames the abstract channel's
    # ``message`` to ``payload``, so no signature matches both (kombu passes it by position).
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        with self._sessionLock:
            return super()._put(queue, payload, **kwargs)

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        """The next message; ``timeout`` (the abstract channel's) is ignored, like kombu's."""
        with self._sessionLock:
            return super()._get(queue)

    def _purge(self, queue: str) -> Any:
        with self._sessionLock:
            return super()._purge(queue)

    def _size(self, queue: str) -> Any:
        with self._sessionLock:
            return super()._size(queue)

    def _engine_from_config(self) -> Any:
        """Create the engine with the busy timeout, after preparing the file."""
        hostname = self.connection.client.hostname
        prepareSqliteFile(hostname)
        return kombuSqla.create_engine(hostname, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})


class EmbeddedSqliteTransport(kombuSqla.Transport):
    """The embedded broker transport (``broker_transport`` names this class)."""

    Channel = EmbeddedSqliteChannel
    polling_interval = POLLING_INTERVAL


#: Value of Celery's ``broker_transport`` setting for the embedded broker.
TRANSPORT_PATH = f"{__name__}:EmbeddedSqliteTransport"
