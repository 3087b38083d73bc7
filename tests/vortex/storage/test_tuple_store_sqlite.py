"""TupleStoreSqlite: save/load across reopen, newest wins, LRU eviction under the byte
bound, and a corrupt file moved aside."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from vortex.storage.tuple_store_sqlite import TupleStoreSqlite


class _Clock:
    """A settable time source, so recency is decided by the test, not the wall clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "tuple_cache.sqlite"


def test_saved_values_survive_reopen(path: Path) -> None:
    """A saved value is read back after the store is closed and opened again."""
    store = TupleStoreSqlite(path, maxBytes=10_000)
    store.save("a", b"alpha")
    store.save("b", b"beta")
    store.close()
    reopened = TupleStoreSqlite(path, maxBytes=10_000)
    try:
        assert reopened.load("a") == b"alpha"
        assert reopened.load("b") == b"beta"
        assert reopened.load("missing") is None
        assert reopened.totalBytes == len(b"alpha") + len(b"beta")
    finally:
        reopened.close()


def test_newest_save_wins_and_delete_removes(path: Path) -> None:
    """Several saves of one key leave the last value; a delete removes the row on disk."""
    store = TupleStoreSqlite(path, maxBytes=10_000)
    for i in range(50):
        store.save("k", b"v%d" % i)
    store.save("gone", b"x")
    store.delete("gone")
    assert store.load("k") == b"v49"
    store.close()
    rows = sqlite3.connect(path).execute("SELECT key, value FROM tuple_store").fetchall()
    assert rows == [("k", b"v49")]


def test_load_is_served_from_queue_before_the_write(path: Path) -> None:
    """A value saved but not yet written is already returned by load (and a queued delete
    hides the stored one)."""
    store = TupleStoreSqlite(path, maxBytes=10_000)
    try:
        store.save("k", b"old")
        assert store.flush(timeout=30)
        store.save("k", b"new")
        assert store.load("k") == b"new"
        store.delete("k")
        assert store.load("k") is None
    finally:
        store.close()


def test_least_recently_used_rows_are_evicted_to_fit_the_bound(path: Path) -> None:
    """Over maxBytes the least recently used rows go first; a load counts as a use."""
    clock = _Clock()
    store = TupleStoreSqlite(path, maxBytes=300, clock=clock)
    try:
        for name in ("a", "b", "c"):
            clock.now += 1
            store.save(name, name.encode() * 100)
            assert store.flush(timeout=30)
        clock.now += 1
        assert store.load("a") == b"a" * 100  # "a" is now more recent than "b"
        assert store.flush(timeout=30)
        clock.now += 1
        store.save("d", b"d" * 100)
        assert store.flush(timeout=30)
        assert store.totalBytes <= 300
        assert store.load("b") is None
        assert store.load("a") == b"a" * 100
        assert store.load("c") == b"c" * 100
        assert store.load("d") == b"d" * 100
    finally:
        store.close()


def test_corrupt_file_is_moved_aside_and_replaced(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file that is not a database is renamed ``.corrupt-*`` with a warning, and the store
    works on a fresh file."""
    garbage = b"this is not an sqlite database" * 100
    path.write_bytes(garbage)
    with caplog.at_level(logging.WARNING, logger="vortex.storage.tuple_store_sqlite"):
        store = TupleStoreSqlite(path, maxBytes=10_000)
    try:
        aside = list(path.parent.glob("tuple_cache.sqlite.corrupt-*"))
        assert [p.read_bytes() for p in aside] == [garbage]
        assert any("moved it to" in r.getMessage() for r in caplog.records)
        store.save("k", b"v")
        assert store.flush(timeout=30)
        assert store.load("k") == b"v"
    finally:
        store.close()


def test_rejects_a_non_positive_bound(path: Path) -> None:
    """maxBytes 0 is not a store (the platform turns the cache off instead)."""
    with pytest.raises(ValueError):
        TupleStoreSqlite(path, maxBytes=0)
