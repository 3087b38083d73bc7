"""The fast migration check: skip Alembic when the schema is at the head of unchanged scripts.

Loading a plugin's Alembic scripts (``env.py`` and every revision module) costs tens of
milliseconds, paid by every plugin on every start although the schema is nearly always at
head already. So the heads Alembic reached are remembered per Alembic directory beside a
fingerprint of the directory's files (names, sizes, modification times), in a JSON file in
the logic home. When the fingerprint is unchanged and the database's ``alembic_version``
rows equal the remembered heads, nothing can be pending and Alembic is not run. In every
other case — first run, a revision added or edited, a database behind or ahead — the full
migration runs as before: it migrates a schema that is behind and refuses a database that
is ahead, under the migration lock.

The check reads the version table without the lock: it only ever skips when the committed
state already is head, which is what the locked migration would conclude too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from peek_plugin_base.storage.DbConnection import DbConnection
from peek_plugin_base.storage.DbEngine import (
    SQLITE_BUSY_TIMEOUT,
    sqliteDatabasePath,
    sqliteSchemaPath,
)

logger = logging.getLogger(__name__)

#: The heads cache's file name in the logic home.
HEADS_CACHE_FILE = "alembic_heads.json"


def alembicFingerprint(alembicDir: str | Path) -> str:
    """A digest of the Python files of ``alembicDir`` and its ``versions/`` (name, size,
    mtime): it changes when a revision is added, removed or edited."""
    root = Path(alembicDir)
    entries: list[str] = []
    for directory in (root, root / "versions"):
        try:
            scan = os.scandir(directory)
        except OSError:
            continue
        with scan:
            for entry in scan:
                if entry.name.endswith(".py") and entry.is_file():
                    stat = entry.stat()
                    relative = os.path.relpath(entry.path, root)
                    entries.append(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(sorted(entries)).encode("utf-8")).hexdigest()


class AlembicHeadsCache:
    """The head revisions of each Alembic directory with its fingerprint, kept in a JSON file.

    ``path`` ``None`` keeps them in memory only. An unreadable file counts as empty; one that
    cannot be written is logged and the check simply runs Alembic next time.
    """

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._entries: dict[str, dict] | None = None

    def _load(self) -> dict[str, dict]:
        if self._entries is None:
            self._entries = {}
            if self._path is not None and self._path.exists():
                try:
                    loaded = json.loads(self._path.read_text(encoding="utf-8"))
                    if isinstance(loaded, dict):
                        self._entries = loaded
                except (OSError, ValueError) as e:
                    logger.warning("ignoring the unreadable %s: %s", self._path, e)
        return self._entries

    def heads(self, alembicDir: str | Path, fingerprint: str) -> tuple[str, ...] | None:
        """The heads remembered for ``alembicDir`` if its fingerprint is still ``fingerprint``."""
        with self._lock:
            entry = self._load().get(str(alembicDir))
        if not isinstance(entry, dict) or entry.get("fingerprint") != fingerprint:
            return None
        heads = entry.get("heads")
        return tuple(heads) if isinstance(heads, list) and heads else None

    def remember(self, alembicDir: str | Path, fingerprint: str, heads: tuple[str, ...]) -> None:
        """Remember ``heads`` for ``alembicDir`` at ``fingerprint`` (and write the file)."""
        entry = {"fingerprint": fingerprint, "heads": sorted(heads)}
        with self._lock:
            entries = self._load()
            if entries.get(str(alembicDir)) == entry:
                return
            entries[str(alembicDir)] = entry
            if self._path is None:
                return
            temporary = self._path.with_name(f".{self._path.name}.{os.getpid()}.tmp")
            try:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                temporary.write_text(json.dumps(entries, indent=1), encoding="utf-8")
                os.replace(temporary, self._path)
            except OSError as e:
                logger.warning("cannot write %s, migrations are checked in full: %s", self._path, e)


def migrateUnlessAtHead(db: DbConnection, cache: AlembicHeadsCache) -> bool:
    """Migrate ``db``'s schema unless it is at the remembered head of unchanged scripts
    (blocking); True when Alembic ran."""
    fingerprint = alembicFingerprint(db.alembicDir)
    heads = cache.heads(db.alembicDir, fingerprint)
    if heads is not None and sorted(db.currentRevisions()) == sorted(heads):
        return False
    reached = db.migrate()
    if reached:
        cache.remember(db.alembicDir, fingerprint, reached)
    return True


def readSchemaRevisions(
    url: str, engine: Engine | None, schemas: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """The ``alembic_version`` rows of each of ``schemas`` (empty when never migrated),
    read in one go without the migration lock (blocking).

    On SQLite each schema's file is read directly (attaching them all to one connection
    is not possible: SQLite attaches at most ten); elsewhere one connection of ``engine``
    reads every schema.
    """
    schemas = list(schemas)
    if sqliteDatabasePath(url) is not None:
        return {schema: _sqliteRevisions(sqliteSchemaPath(url, schema)) for schema in schemas}
    if engine is None:
        raise ValueError("reading schema revisions from a server database needs its engine")
    found: dict[str, tuple[str, ...]] = {}
    with engine.connect() as conn:
        inspector = inspect(conn)
        for schema in schemas:
            if not inspector.has_table("alembic_version", schema=schema):
                found[schema] = ()
                continue
            context = MigrationContext.configure(conn, opts={"version_table_schema": schema})
            found[schema] = tuple(context.get_current_heads())
    return found


def _sqliteRevisions(path: Path) -> tuple[str, ...]:
    """The ``alembic_version`` rows of one SQLite schema file (empty when it has none)."""
    if not path.exists():
        return ()
    conn = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT)
    try:
        hasTable = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
        if hasTable is None:
            return ()
        return tuple(row[0] for row in conn.execute("SELECT version_num FROM alembic_version"))
    finally:
        conn.close()


def schemasAtHead(
    checks: Sequence[tuple[str, str | Path]],
    cache: AlembicHeadsCache,
    url: str,
    engine: Engine | None,
) -> set[str]:
    """Of ``checks`` (schema, Alembic directory), the schemas that ``migrateUnlessAtHead``
    would skip: unchanged scripts and the committed revisions at their remembered heads.
    One read for all (blocking); the others must take the full path."""
    remembered: dict[str, tuple[str, ...]] = {}
    for schema, alembicDir in checks:
        heads = cache.heads(alembicDir, alembicFingerprint(alembicDir))
        if heads is not None:
            remembered[schema] = heads
    current = readSchemaRevisions(url, engine, remembered)
    return {
        schema
        for schema, heads in remembered.items()
        if sorted(current.get(schema, ())) == sorted(heads)
    }
