"""Field and office: the chunks of every chunked index on disk (``bulk_chunks.sqlite``).

Each chunk is kept as logic compiled it (the body devices get) and gzip-compressed once
when stored, so a chunk is never encoded or compressed per request. The store is bounded:
a chunk that would take it over ``maxBytes`` is not stored (logged), so devices get a
partial index rather than the service filling its disk. A file that cannot be opened as
this store is moved aside (``<name>.corrupt-<UTC time>``) and a fresh one is started.

Methods block; the field runs them in threads, never on the reactor thread (``BulkSync``).
"""

from __future__ import annotations

import gzip
import logging
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from peek_platform.bulk.queue_db import IndexId

logger = logging.getLogger(__name__)

#: Schema version kept in ``PRAGMA user_version``; a file of another version starts empty.
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunk (
    plugin TEXT NOT NULL,
    idx TEXT NOT NULL,
    bucket TEXT NOT NULL,
    hash TEXT NOT NULL,
    body BLOB NOT NULL,
    gz BLOB NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (plugin, idx, bucket)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idx_version (
    plugin TEXT NOT NULL,
    idx TEXT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (plugin, idx)
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as served: its hash, body and the body gzip-compressed."""

    hash: str
    body: bytes
    gz: bytes


class ChunkStoreSqlite:
    """Bounded store of chunk bodies by (plugin, index, bucket), thread-safe."""

    def __init__(self, path: Path, maxBytes: int) -> None:
        if maxBytes <= 0:
            raise ValueError(f"maxBytes must be positive, got {maxBytes}")
        self.path = Path(path)
        self.maxBytes = maxBytes
        self._lock = threading.Lock()
        self._conn = self._openOrReplace()
        # Reads (serving devices) have a connection of their own: in WAL mode they never
        # wait for a batch being written.
        self._readLock = threading.Lock()
        self._readConn = self._connect()
        self._totalBytes = int(
            self._conn.execute("SELECT COALESCE(SUM(size), 0) FROM chunk").fetchone()[0]
        )
        self._fullWarned = False

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                conn.executescript("DROP TABLE IF EXISTS chunk; DROP TABLE IF EXISTS idx_version;")
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("SELECT COUNT(*) FROM chunk").fetchone()
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _openOrReplace(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return self._connect()
        except sqlite3.DatabaseError as e:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
            self.path.replace(aside)
            for suffix in ("-wal", "-shm"):
                extra = self.path.with_name(self.path.name + suffix)
                if extra.exists():
                    extra.replace(aside.with_name(aside.name + suffix))
            logger.warning(
                "bulk chunk store %s could not be read (%s); moved it to %s and started empty",
                self.path,
                e,
                aside,
            )
            return self._connect()

    @property
    def totalBytes(self) -> int:
        """Bytes of chunk bodies stored (uncompressed plus compressed)."""
        return self._totalBytes

    def indexes(self) -> dict[IndexId, tuple[str, dict[str, str]]]:
        """Every stored index: its version (``""`` when not complete) and chunk hashes."""
        with self._lock:
            versions = {
                (plugin, idx): version
                for plugin, idx, version in self._conn.execute(
                    "SELECT plugin, idx, version FROM idx_version"
                )
            }
            found: dict[IndexId, tuple[str, dict[str, str]]] = {
                indexId: (version, {}) for indexId, version in versions.items()
            }
            for plugin, idx, bucket, digest in self._conn.execute(
                "SELECT plugin, idx, bucket, hash FROM chunk"
            ):
                entry = found.setdefault((plugin, idx), ("", {}))
                entry[1][bucket] = digest
        return found

    def chunk(self, indexId: IndexId, bucket: str) -> StoredChunk | None:
        """The stored chunk, or None."""
        with self._readLock:
            row = self._readConn.execute(
                "SELECT hash, body, gz FROM chunk WHERE plugin = ? AND idx = ? AND bucket = ?",
                (*indexId, bucket),
            ).fetchone()
        return None if row is None else StoredChunk(row[0], bytes(row[1]), bytes(row[2]))

    def put(self, indexId: IndexId, chunks: dict[str, tuple[str, bytes]]) -> dict[str, str]:
        """Store ``{bucket: (hash, body)}`` in one transaction (compressing each once);
        the hashes of those stored (a chunk over the bound is left out)."""
        prepared = [
            (bucket, digest, body, gzip.compress(body, compresslevel=6))
            for bucket, (digest, body) in chunks.items()
        ]
        stored: dict[str, str] = {}
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                total = self._totalBytes
                for bucket, digest, body, gz in prepared:
                    old = self._conn.execute(
                        "SELECT size FROM chunk WHERE plugin = ? AND idx = ? AND bucket = ?",
                        (*indexId, bucket),
                    ).fetchone()
                    size = len(body) + len(gz)
                    newTotal = total - (old[0] if old else 0) + size
                    if newTotal > self.maxBytes:
                        self._warnFull(indexId, bucket)
                        continue
                    self._conn.execute(
                        "INSERT OR REPLACE INTO chunk (plugin, idx, bucket, hash, body, gz, size)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (*indexId, bucket, digest, body, gz, size),
                    )
                    total = newTotal
                    stored[bucket] = digest
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._totalBytes = total
        return stored

    def _warnFull(self, indexId: IndexId, bucket: str) -> None:
        if not self._fullWarned:
            self._fullWarned = True
            logger.error(
                "bulk chunk store %s is full (%d bytes, bulkSync.maxMegabytes): chunk %s of"
                " %s/%s and later ones are not stored",
                self.path,
                self.maxBytes,
                bucket,
                *indexId,
            )

    def remove(self, indexId: IndexId, buckets: list[str]) -> None:
        """Delete these chunks of an index."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for bucket in buckets:
                    row = self._conn.execute(
                        "DELETE FROM chunk WHERE plugin = ? AND idx = ? AND bucket = ?"
                        " RETURNING size",
                        (*indexId, bucket),
                    ).fetchone()
                    if row is not None:
                        self._totalBytes -= row[0]
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def removeIndex(self, indexId: IndexId) -> None:
        """Delete an index logic no longer publishes."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("DELETE FROM chunk WHERE plugin = ? AND idx = ?", indexId)
            self._conn.execute("DELETE FROM idx_version WHERE plugin = ? AND idx = ?", indexId)
            self._conn.execute("COMMIT")
            self._totalBytes = int(
                self._conn.execute("SELECT COALESCE(SUM(size), 0) FROM chunk").fetchone()[0]
            )

    def setVersion(self, indexId: IndexId, version: str) -> None:
        """Record the version of logic's index this store now holds in full (``""``: none)."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO idx_version (plugin, idx, version) VALUES (?, ?, ?)",
                (*indexId, version),
            )

    def close(self) -> None:
        """Close the file."""
        with self._readLock:
            self._readConn.close()
        with self._lock:
            self._conn.close()
