"""A site's login sessions on disk, so that logged-in browsers survive a service restart.

One SQLite file per site in the service's home (``sessions-<site>.sqlite``, mode 0600).
It holds each session's user, roles, permissions, device and times, keyed by the SHA-256
of the session id: the id itself (the browser's cookie) and the CSRF token derived from it
are never written, so a copy of the file lets nobody in. Each change is one SQLite
transaction (atomic; on disk for another process once it returns, so a crash or SIGKILL
loses nothing). Ending sessions is also synced to the disk itself (``synchronous=FULL``),
so a logout survives even a power cut; new sessions and last-seen times are not (a power
cut may log a browser out, never in), which keeps a login from waiting for the disk. A
file that cannot be read is moved aside and replaced by an empty one, which logs every
browser out. Deleting the file while the service is stopped ends every session
(``docs/admin/web.rst``, "Sessions across restarts").
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from peek_platform.identity.principal import Principal

logger = logging.getLogger(__name__)

#: Owner read/write only: the file says who is logged in from which device.
FILE_MODE = 0o600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS session (
    idHash TEXT PRIMARY KEY,
    userId TEXT NOT NULL,
    userName TEXT NOT NULL,
    roles TEXT NOT NULL,
    permissions TEXT NOT NULL,
    deviceId TEXT,
    awaitingApproval INTEGER NOT NULL,
    createdAt REAL NOT NULL,
    lastSeen REAL NOT NULL
)
"""


@dataclass(frozen=True)
class StoredSession:
    """One row: a session as it was last written, keyed by the hash of its id."""

    idHash: str
    principal: Principal
    deviceId: str | None
    awaitingApproval: bool
    createdAt: float
    lastSeen: float


def sessionFilePath(home: Path, siteName: str) -> Path:
    """Where the ``siteName`` site of the service with ``home`` keeps its sessions."""
    return home / f"sessions-{siteName}.sqlite"


class SessionFile:
    """The sessions of one site in a SQLite file (blocking, small writes; the reactor's
    thread calls it at login, logout and every few seconds for the last-seen times)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = self._open(path)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Create it 0600 before SQLite does, so it is never readable by others; SQLite gives
        # its -wal and -shm files the database file's mode.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE))
        os.chmod(path, FILE_MODE)
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(_SCHEMA)
            db.execute("SELECT count(*) FROM session").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _open(self, path: Path) -> sqlite3.Connection:
        try:
            return self._connect(path)
        except sqlite3.DatabaseError as error:
            aside = path.with_name(path.name + ".unreadable")
            logger.error(
                "login sessions file %s cannot be read (%s): moved to %s; every browser must "
                "log in again",
                path,
                error,
                aside,
            )
            os.replace(path, aside)
            for suffix in ("-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            return self._connect(path)

    def load(self) -> list[StoredSession]:
        """Every session in the file."""
        rows = self._db.execute(
            "SELECT idHash, userId, userName, roles, permissions, deviceId, awaitingApproval,"
            " createdAt, lastSeen FROM session"
        ).fetchall()
        return [
            StoredSession(
                idHash=idHash,
                principal=Principal(
                    userId, userName, frozenset(json.loads(roles)), frozenset(json.loads(perms))
                ),
                deviceId=deviceId,
                awaitingApproval=bool(awaiting),
                createdAt=float(createdAt),
                lastSeen=float(lastSeen),
            )
            for (
                idHash,
                userId,
                userName,
                roles,
                perms,
                deviceId,
                awaiting,
                createdAt,
                lastSeen,
            ) in rows
        ]

    def save(self, sessions: Iterable[StoredSession]) -> None:
        """Write (insert or replace) ``sessions`` in one transaction."""
        rows = [
            (
                s.idHash,
                s.principal.userId,
                s.principal.userName,
                json.dumps(sorted(s.principal.roles)),
                json.dumps(sorted(s.principal.permissions)),
                s.deviceId,
                int(s.awaitingApproval),
                s.createdAt,
                s.lastSeen,
            )
            for s in sessions
        ]
        if rows:
            with self._transaction():
                self._db.executemany(
                    "INSERT OR REPLACE INTO session VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
                )

    def delete(self, idHashes: Iterable[str]) -> None:
        """Forget the sessions with these id hashes, in one transaction synced to the disk."""
        keys = [(idHash,) for idHash in idHashes]
        if keys:
            self._db.execute("PRAGMA synchronous=FULL")
            try:
                with self._transaction():
                    self._db.executemany("DELETE FROM session WHERE idHash = ?", keys)
            finally:
                self._db.execute("PRAGMA synchronous=NORMAL")

    def close(self) -> None:
        """Close the file (writes already done are on disk)."""
        self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, excType: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if excType is None else "ROLLBACK")
