"""The chunked index queue and compiled chunks in the platform schema (logic and worker).

Logic queues changed rows (``queueRows``: one row per key, newest wins); a worker task
compiles them (``compileQueued``): in one transaction it reads a batch of queued rows,
merges them into their buckets' current chunks, encodes each changed chunk once and
deletes the queued rows it compiled, unless they were queued again meanwhile. Compiles of
one index never interleave: SQLite runs one writing transaction at a time, and PostgreSQL
takes a transaction advisory lock per index.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Table, bindparam, delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from peek_platform.bulk.chunks import decodeRows, encodeChunk
from peek_platform.storage.platform_schema import bulkChunkTable, bulkQueueTable

#: Queued rows one compile transaction takes at most (the rest are compiled next).
COMPILE_BATCH_ROWS = 50_000
#: Rows written per statement when queueing.
QUEUE_STATEMENT_ROWS = 5_000

#: (plugin name, index name).
IndexId = tuple[str, str]


@dataclass
class CompileResult:
    """What one compile transaction did: new hashes by bucket (None: chunk removed)."""

    changed: dict[str, str | None] = field(default_factory=dict)
    rowsCompiled: int = 0
    #: Queued rows of this index still waiting after this transaction.
    remaining: int = 0


def _insert(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT supporting ``on_conflict_do_update``."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def queueRows(
    conn: Connection,
    pluginName: str,
    indexName: str,
    items: Sequence[tuple[str, str, str | None]],
) -> int:
    """Queue ``(key, bucket, rowJson or None)`` items; a key already queued takes the new
    value and a higher version. Returns how many were queued."""
    q = bulkQueueTable
    for start in range(0, len(items), QUEUE_STATEMENT_ROWS):
        part = items[start : start + QUEUE_STATEMENT_ROWS]
        # One value per key within a statement (PostgreSQL refuses a key twice).
        newest = {key: (bucket, rowJson) for key, bucket, rowJson in part}
        stmt = _insert(conn, q)
        stmt = stmt.on_conflict_do_update(
            index_elements=[q.c.plugin_name, q.c.index_name, q.c.row_key],
            set_={
                "bucket": stmt.excluded.bucket,
                "row_json": stmt.excluded.row_json,
                "version": q.c.version + 1,
            },
        )
        conn.execute(
            stmt,
            [
                {
                    "plugin_name": pluginName,
                    "index_name": indexName,
                    "row_key": key,
                    "bucket": bucket,
                    "row_json": rowJson,
                    "version": 1,
                }
                for key, (bucket, rowJson) in newest.items()
            ],
        )
    return len(items)


def _lockIndex(conn: Connection, pluginName: str, indexName: str) -> None:
    """On PostgreSQL, hold this index's compile lock until the transaction ends."""
    if conn.dialect.name == "postgresql":
        key = zlib.crc32(f"peek-bulk:{pluginName}/{indexName}".encode())
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def compileQueued(
    conn: Connection, pluginName: str, indexName: str, maxRows: int = COMPILE_BATCH_ROWS
) -> CompileResult:
    """Compile up to ``maxRows`` queued rows of one index into their chunks, in the caller's
    transaction (commit it to publish the result)."""
    _lockIndex(conn, pluginName, indexName)
    q, c = bulkQueueTable, bulkChunkTable
    ofIndex = (q.c.plugin_name == pluginName) & (q.c.index_name == indexName)
    queued = conn.execute(
        select(q.c.row_key, q.c.bucket, q.c.row_json, q.c.version)
        .where(ofIndex)
        .order_by(q.c.bucket, q.c.row_key)
        .limit(maxRows)
    ).all()
    result = CompileResult(rowsCompiled=len(queued))
    byBucket: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for key, bucket, rowJson, _version in queued:
        byBucket[bucket].append((key, rowJson))
    # A key whose bucket function changed: its old copy is in another bucket, not found
    # here; bucketForKey must be stable (documented).
    ofChunks = (c.c.plugin_name == pluginName) & (c.c.index_name == indexName)
    current: dict[str, bytes] = {}
    buckets = list(byBucket)
    for start in range(0, len(buckets), 500):
        part = buckets[start : start + 500]
        for bucket, body in conn.execute(
            select(c.c.bucket, c.c.body).where(ofChunks & c.c.bucket.in_(part))
        ):
            current[bucket] = bytes(body)
    upserts = []
    removed = []
    for bucket, changes in byBucket.items():
        rows = decodeRows(current[bucket]) if bucket in current else {}
        for key, rowJson in changes:
            if rowJson is None:
                rows.pop(key, None)
            else:
                rows[key] = orjson.loads(rowJson)
        if not rows:
            if bucket in current:
                removed.append(bucket)
                result.changed[bucket] = None
            continue
        chunk = encodeChunk(bucket, rows)
        upserts.append(
            {
                "plugin_name": pluginName,
                "index_name": indexName,
                "bucket": bucket,
                "hash": chunk.hash,
                "body": chunk.body,
                "row_count": len(rows),
            }
        )
        result.changed[bucket] = chunk.hash
    if upserts:
        stmt = _insert(conn, c)
        stmt = stmt.on_conflict_do_update(
            index_elements=[c.c.plugin_name, c.c.index_name, c.c.bucket],
            set_={
                "hash": stmt.excluded.hash,
                "body": stmt.excluded.body,
                "row_count": stmt.excluded.row_count,
            },
        )
        for start in range(0, len(upserts), 200):
            conn.execute(stmt, upserts[start : start + 200])
    for start in range(0, len(removed), 500):
        conn.execute(delete(c).where(ofChunks & c.c.bucket.in_(removed[start : start + 500])))
    if queued:
        # Only the versions compiled: a row queued again meanwhile stays for the next run.
        conn.execute(
            delete(q).where(
                ofIndex
                & (q.c.row_key == bindparam("doneKey"))
                & (q.c.version == bindparam("doneVersion"))
            ),
            [{"doneKey": key, "doneVersion": version} for key, _b, _r, version in queued],
        )
    result.remaining = conn.execute(select(func.count()).select_from(q).where(ofIndex)).scalar_one()
    return result


def pendingIndexes(conn: Connection) -> set[IndexId]:
    """Indexes with queued rows (to compile after a restart)."""
    q = bulkQueueTable
    return {
        (plugin, index)
        for plugin, index in conn.execute(select(q.c.plugin_name, q.c.index_name).distinct())
    }


def readAllHashes(conn: Connection) -> dict[IndexId, dict[str, str]]:
    """The hash of every compiled chunk, by index and bucket."""
    c = bulkChunkTable
    hashes: dict[IndexId, dict[str, str]] = defaultdict(dict)
    for plugin, index, bucket, digest in conn.execute(
        select(c.c.plugin_name, c.c.index_name, c.c.bucket, c.c.hash)
    ):
        hashes[(plugin, index)][bucket] = digest
    return dict(hashes)


def readChunks(
    conn: Connection, pluginName: str, indexName: str, buckets: Iterable[str]
) -> dict[str, tuple[str, bytes]]:
    """``{bucket: (hash, body)}`` of the named chunks that exist."""
    c = bulkChunkTable
    wanted = list(buckets)
    found: dict[str, tuple[str, bytes]] = {}
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        for bucket, digest, body in conn.execute(
            select(c.c.bucket, c.c.hash, c.c.body).where(
                (c.c.plugin_name == pluginName)
                & (c.c.index_name == indexName)
                & c.c.bucket.in_(part)
            )
        ):
            found[bucket] = (digest, bytes(body))
    return found
