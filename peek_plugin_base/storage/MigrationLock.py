"""Cross-process locks so two processes never migrate the same database at once."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection

#: ``pg_advisory_xact_lock`` key shared by every Peek migration ("peekmigr" as bytes).
PG_MIGRATION_LOCK_KEY = 0x7065656B6D696772


@contextlib.contextmanager
def sqliteMigrationFileLock(databasePath: Path) -> Iterator[Path]:
    """Hold an exclusive ``flock`` on ``<database>.migrate.lock`` for the block."""
    lockPath = databasePath.with_name(databasePath.name + ".migrate.lock")
    lockPath.parent.mkdir(parents=True, exist_ok=True)
    with open(lockPath, "a+b") as lockFile:
        fcntl.flock(lockFile.fileno(), fcntl.LOCK_EX)
        try:
            yield lockPath
        finally:
            fcntl.flock(lockFile.fileno(), fcntl.LOCK_UN)


def pgMigrationTransactionLock(conn: Connection) -> None:
    """Wait for the database-wide migration lock; it is released when the transaction ends."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK_KEY})
