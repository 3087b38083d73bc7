"""The chunked index queue and compiler on the platform schema, on SQLite and PostgreSQL.

The schema comes from the platform's real migrations (revision ``e2b9c4d7a810``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from peek_platform.bulk.chunks import decodeRows, encodeChunk
from peek_platform.bulk.queue_db import (
    compileQueued,
    pendingIndexes,
    queueRows,
    readAllHashes,
    readChunks,
)
from peek_platform.storage.platform_schema import (
    PLATFORM_ALEMBIC_DIR,
    bulkQueueTable,
    platformMetadata,
)
from peek_plugin_base.storage.DbConnection import DbConnection

PLUGIN, INDEX = "peek_plugin_x", "things"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The platform schema migrated to head on each database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'peek.sqlite'}"
    else:
        url = request.getfixturevalue("peekPostgresUrl")
    db = DbConnection(url, platformMetadata, str(PLATFORM_ALEMBIC_DIR), enableCreateAll=False)
    db.migrate()
    yield db.dbEngine
    db.dispose()


def queue(engine: Engine, rows: dict[str, object], bucket: str = "b1") -> None:
    """Queue ``rows`` (None deletes) in one transaction, all in ``bucket``."""
    items = [(k, bucket, None if v is None else orjson.dumps(v).decode()) for k, v in rows.items()]
    with engine.begin() as conn:
        queueRows(conn, PLUGIN, INDEX, items)


def compile(engine: Engine) -> tuple[dict[str, str | None], int]:
    """Compile in one transaction: changed buckets and rows compiled."""
    with engine.begin() as conn:
        result = compileQueued(conn, PLUGIN, INDEX)
    return result.changed, result.rowsCompiled


def rowsOf(engine: Engine, bucket: str) -> dict[str, object]:
    """The compiled rows of ``bucket``."""
    with engine.connect() as conn:
        found = readChunks(conn, PLUGIN, INDEX, [bucket])
    return decodeRows(found[bucket][1])


def test_a_key_queued_ten_times_compiles_once_with_its_newest_value(engine: Engine) -> None:
    """Ten queueings of one key, in ten transactions, leave one queued row; it compiles as
    one row holding the tenth value, and the queue is empty afterwards."""
    for value in range(1, 11):
        queue(engine, {"k": {"v": value}})
    with engine.connect() as conn:
        assert conn.execute(select(bulkQueueTable.c.version)).scalars().all() == [10]
    changed, compiled = compile(engine)
    assert compiled == 1
    assert rowsOf(engine, "b1") == {"k": {"v": 10}}
    assert changed == {"b1": encodeChunk("b1", {"k": {"v": 10}}).hash}
    with engine.connect() as conn:
        assert pendingIndexes(conn) == set()


def test_compiling_merges_into_the_chunk_and_deleting_every_row_removes_it(
    engine: Engine,
) -> None:
    """A later compile merges its rows into the bucket's chunk; the same values again keep
    the hash; deleting every row removes the chunk."""
    queue(engine, {"a": 1, "b": 2})
    compile(engine)
    queue(engine, {"c": 3, "a": None})
    changed, _ = compile(engine)
    assert rowsOf(engine, "b1") == {"b": 2, "c": 3}
    queue(engine, {"b": 2})
    again, _ = compile(engine)
    assert again == changed
    queue(engine, {"b": None, "c": None})
    removed, _ = compile(engine)
    assert removed == {"b1": None}
    with engine.connect() as conn:
        assert readAllHashes(conn) == {}


def test_compiling_in_batches_leaves_the_rest_for_the_next_transaction(engine: Engine) -> None:
    """``maxRows`` bounds one transaction; ``remaining`` says what is left."""
    queue(engine, {f"k{n}": n for n in range(5)}, bucket="b1")
    with engine.begin() as conn:
        first = compileQueued(conn, PLUGIN, INDEX, maxRows=3)
    assert (first.rowsCompiled, first.remaining) == (3, 2)
    with engine.begin() as conn:
        second = compileQueued(conn, PLUGIN, INDEX, maxRows=3)
    assert (second.rowsCompiled, second.remaining) == (2, 0)
    assert rowsOf(engine, "b1") == {f"k{n}": n for n in range(5)}
