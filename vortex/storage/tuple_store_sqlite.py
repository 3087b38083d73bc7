"""A bounded SQLite store of encoded observable data, keyed by a selector's canonical key.

Field and office observable proxies keep their caches here so that a restarted service
answers its devices from disk before logic answers (``docs/dev/messaging.rst``, "Observable
proxies").

* **Values are bytes as sent on the wire** (``rerouteTail`` of an upstream update): nothing
  is encoded again to store or to serve.
* **Writes never run on the caller's thread.** ``save``, ``delete`` and the recency
  update of ``load`` only record the newest value per key; one writer thread writes
  everything recorded so far in one transaction (newest wins, however many updates a
  selector had meanwhile).
* **Reads block**: one primary-key lookup on a read connection of its own (in WAL mode a
  reader never waits for the writer); any thread may call ``load``, and the proxies run it
  on the store's reader thread (``submitRead``), never on the reactor thread.
* **Bounded**: after each batch the least recently used rows are deleted until the values
  fit in ``maxBytes``.
* **Crash-safe**: WAL journal, one transaction per batch. A file that cannot be opened as
  this store is moved aside (``<name>.corrupt-<UTC time>``) with a warning, and a fresh
  one is created.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

#: Schema version kept in ``PRAGMA user_version``; a file of another version starts empty.
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tuple_store (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    size INTEGER NOT NULL,
    stored_at REAL NOT NULL,
    used_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tuple_store_used_at ON tuple_store (used_at);
"""

_T = TypeVar("_T")

#: A pending write: the value to store (with its stored time), or None to delete.
_Pending = tuple[bytes, float] | None


class TupleStoreSqlite:
    """Bounded key -> bytes store in one SQLite file, written by a single background thread.

    Every method is thread-safe; ``load`` reads the file (call it off the reactor thread),
    ``save``/``delete`` only queue. ``close`` writes what is queued and closes the file.
    """

    def __init__(self, path: Path, maxBytes: int, clock: Callable[[], float] = time.time) -> None:
        if maxBytes <= 0:
            raise ValueError(f"maxBytes must be positive, got {maxBytes}")
        self.path = Path(path)
        self.maxBytes = maxBytes
        self._clock = clock
        self._lock = threading.Condition()
        self._pending: dict[str, _Pending] = {}
        self._touched: dict[str, float] = {}
        self._busy = False
        self._closing = False
        self._writeConn = self._openOrReplace()
        self._readLock = threading.Lock()
        self._readConn: sqlite3.Connection | None = self._connect()
        self._totalBytes = self._writeConn.execute(
            "SELECT COALESCE(SUM(size), 0) FROM tuple_store"
        ).fetchone()[0]
        self._thread = threading.Thread(
            target=self._writerLoop, name=f"tuple-store {self.path.name}", daemon=True
        )
        self._thread.start()
        self._reader = ThreadPoolExecutor(
            1, thread_name_prefix=f"tuple-store-read {self.path.name}"
        )

    # ---- opening ----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        """A connection in WAL mode (usable from any thread); DatabaseError if the file is
        not a database."""
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _openSchema(self) -> sqlite3.Connection:
        conn = self._connect()
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                conn.execute("DROP TABLE IF EXISTS tuple_store")
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("SELECT COUNT(*), SUM(size) FROM tuple_store").fetchone()
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _openOrReplace(self) -> sqlite3.Connection:
        """Open the file, or move an unreadable one aside and start a fresh one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return self._openSchema()
        except sqlite3.DatabaseError as e:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
            self.path.replace(aside)
            for suffix in ("-wal", "-shm"):
                extra = self.path.with_name(self.path.name + suffix)
                if extra.exists():
                    extra.replace(aside.with_name(aside.name + suffix))
            logger.warning(
                "tuple store %s could not be read (%s); moved it to %s and started empty",
                self.path,
                e,
                aside,
            )
            return self._openSchema()

    # ---- the caller's side ----------------------------------------------------------------

    def load(self, key: str) -> bytes | None:
        """The value stored (or queued) for ``key``, or None; marks it recently used."""
        with self._lock:
            if key in self._pending:
                pending = self._pending[key]
                return None if pending is None else pending[0]
            if self._closing:
                return None
        with self._readLock:
            if self._readConn is None:
                return None
            try:
                row = self._readConn.execute(
                    "SELECT value FROM tuple_store WHERE key = ?", (key,)
                ).fetchone()
            except sqlite3.DatabaseError as e:
                logger.error("tuple store %s: reading failed: %s", self.path, e)
                return None
        if row is None:
            return None
        with self._lock:
            self._touched[key] = self._clock()
            self._lock.notify()
        return bytes(row[0])

    def submitRead(self, fn: Callable[..., _T], *args: Any) -> Future[_T]:
        """Run ``fn(*args)`` (which may call ``load``) on the store's reader thread; after
        ``close`` the future fails with RuntimeError."""
        try:
            return self._reader.submit(fn, *args)
        except RuntimeError as e:
            failed: Future[_T] = Future()
            failed.set_exception(e)
            return failed

    def save(self, key: str, value: bytes) -> None:
        """Queue ``value`` for ``key``; a newer save of the same key before the write wins."""
        self._queue(key, (value, self._clock()))

    def delete(self, key: str) -> None:
        """Queue the removal of ``key``."""
        self._queue(key, None)

    def _queue(self, key: str, pending: _Pending) -> None:
        with self._lock:
            if self._closing:
                return
            self._pending[key] = pending
            self._lock.notify()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is written; False if ``timeout`` passed."""
        with self._lock:
            return self._lock.wait_for(
                lambda: not self._pending and not self._touched and not self._busy, timeout
            )

    def close(self) -> None:
        """Write what is queued, stop the writer and close the file (idempotent)."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._lock.notify_all()
        self._thread.join()
        self._reader.shutdown(wait=True)
        with self._readLock:
            if self._readConn is not None:
                self._readConn.close()
                self._readConn = None

    @property
    def totalBytes(self) -> int:
        """Bytes of stored values after the last written batch."""
        return self._totalBytes

    # ---- the writer thread ------------------------------------------------------------

    def _writerLoop(self) -> None:
        conn = self._writeConn
        try:
            while True:
                with self._lock:
                    self._lock.wait_for(lambda: self._pending or self._touched or self._closing)
                    if not self._pending and not self._touched:
                        return
                    pending, self._pending = self._pending, {}
                    touched, self._touched = self._touched, {}
                    self._busy = True
                try:
                    self._writeBatch(conn, pending, touched)
                except sqlite3.DatabaseError as e:
                    logger.error(
                        "tuple store %s: writing %d entries failed: %s", self.path, len(pending), e
                    )
                finally:
                    with self._lock:
                        self._busy = False
                        self._lock.notify_all()
        finally:
            conn.close()

    def _writeBatch(
        self, conn: sqlite3.Connection, pending: dict[str, _Pending], touched: dict[str, float]
    ) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for key, item in pending.items():
                if item is None:
                    conn.execute("DELETE FROM tuple_store WHERE key = ?", (key,))
                else:
                    value, storedAt = item
                    conn.execute(
                        "INSERT OR REPLACE INTO tuple_store (key, value, size, stored_at, used_at)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (key, value, len(value), storedAt, storedAt),
                    )
            conn.executemany(
                "UPDATE tuple_store SET used_at = MAX(used_at, ?) WHERE key = ?",
                [(usedAt, key) for key, usedAt in touched.items() if key not in pending],
            )
            total = conn.execute("SELECT COALESCE(SUM(size), 0) FROM tuple_store").fetchone()[0]
            if total > self.maxBytes:
                total = self._evict(conn, total)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._totalBytes = total

    def _evict(self, conn: sqlite3.Connection, total: int) -> int:
        """Delete least recently used rows until the values fit in ``maxBytes``."""
        doomed = []
        for key, size in conn.execute("SELECT key, size FROM tuple_store ORDER BY used_at, key"):
            if total <= self.maxBytes:
                break
            doomed.append((key,))
            total -= size
        conn.executemany("DELETE FROM tuple_store WHERE key = ?", doomed)
        logger.debug("tuple store %s: evicted %d entries", self.path, len(doomed))
        return total
