"""Chunk encoding and the field's on-disk chunk store."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from peek_platform.bulk.chunks import (
    ChunkFormatError,
    decodeRows,
    encodeChunk,
    rowsHash,
    verifiedRowsBytes,
)
from peek_platform.bulk.store import ChunkStoreSqlite
from peek_plugin_base.bulk.ChunkedIndex import ChunkedIndex, ChunkedIndexNameError, hashBucket


def test_a_chunk_body_is_its_bucket_hash_and_canonical_rows() -> None:
    """The body is the protocol's JSON; the hash is SHA-256 of the rows bytes, whatever
    order the rows were given in, and a changed body fails verification."""
    chunk = encodeChunk("c1", {"b": [1, 2], "a": {"x": "é"}})
    assert chunk == encodeChunk("c1", {"a": {"x": "é"}, "b": [1, 2]})
    rows = '{"a":{"x":"é"},"b":[1,2]}'.encode()
    assert chunk.body == b'{"bucket":"c1","hash":"%s","rows":%s}' % (chunk.hash.encode(), rows)
    assert chunk.hash == rowsHash(rows) and len(chunk.hash) == 64
    assert decodeRows(chunk.body) == {"a": {"x": "é"}, "b": [1, 2]}
    assert verifiedRowsBytes(chunk.body, chunk.hash) == rows
    with pytest.raises(ChunkFormatError):
        verifiedRowsBytes(chunk.body.replace(b"[1,2]", b"[1,3]"), chunk.hash)


@pytest.mark.parametrize("name", ["", "../etc", "a/b", "a b", ".hidden", "x" * 101, 7])
def test_bad_index_and_bucket_names_are_refused(name: object) -> None:
    """Names that could leave a path segment (or are not strings) are refused."""
    with pytest.raises(ChunkedIndexNameError):
        ChunkedIndex(name, bucketForKey=str)  # type: ignore[arg-type]
    with pytest.raises(ChunkedIndexNameError):
        ChunkedIndex("ok", bucketForKey=lambda key: name).bucketOf("k")  # type: ignore[arg-type,return-value]


def test_hash_bucket_is_stable_and_within_range() -> None:
    """``hashBucket(16)`` gives the same bucket for a key every time, one of 16 names."""
    bucketOf = hashBucket(16)
    buckets = {bucketOf(f"key{n}") for n in range(500)}
    assert buckets == {f"{n:02d}" for n in range(16)}
    assert bucketOf("key1") == hashBucket(16)("key1")


def test_the_store_keeps_chunks_compressed_once_and_across_reopening(tmp_path: Path) -> None:
    """Stored chunks come back with their gzip form; an index's version and hashes survive
    closing and reopening the file; removing deletes."""
    path = tmp_path / "bulk_chunks.sqlite"
    store = ChunkStoreSqlite(path, 10_000_000)
    one, two = encodeChunk("c1", {"k": 1}), encodeChunk("c2", {"k": 2})
    assert store.put(("p", "i"), {"c1": (one.hash, one.body), "c2": (two.hash, two.body)}) == {
        "c1": one.hash,
        "c2": two.hash,
    }
    store.setVersion(("p", "i"), "abc:1")
    store.remove(("p", "i"), ["c2"])
    store.close()
    store = ChunkStoreSqlite(path, 10_000_000)
    assert store.indexes() == {("p", "i"): ("abc:1", {"c1": one.hash})}
    found = store.chunk(("p", "i"), "c1")
    assert found is not None and gzip.decompress(found.gz) == found.body == one.body
    store.close()


def test_a_chunk_over_the_bound_is_not_stored(tmp_path: Path) -> None:
    """A put that would take the store over ``maxBytes`` leaves that chunk out."""
    big = encodeChunk("c1", {"k": "x" * 5000})
    store = ChunkStoreSqlite(tmp_path / "s.sqlite", 3000)
    assert store.put(("p", "i"), {"c1": (big.hash, big.body)}) == {}
    assert store.chunk(("p", "i"), "c1") is None
    store.close()


def test_a_damaged_file_is_moved_aside_and_a_new_one_started(tmp_path: Path) -> None:
    """A file that is not a database is renamed ``.corrupt-<time>``; the store starts empty."""
    path = tmp_path / "bulk_chunks.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    store = ChunkStoreSqlite(path, 1_000_000)
    assert store.indexes() == {}
    assert [p.name.split("-")[0] for p in tmp_path.glob("bulk_chunks.sqlite.corrupt-*")] == [
        "bulk_chunks.sqlite.corrupt"
    ]
    store.close()
