"""Engines on embedded SQLite: immediate transactions wait for each other, never fail."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from peek_plugin_base.storage.DbEngine import SQLITE_BEGIN_OPTION, SqliteWriteGate, createDbEngine


def test_immediate_read_then_write_transactions_wait_for_each_other(tmp_path):
    """With sqliteBegin IMMEDIATE two read-then-write transactions at once both commit."""
    url = f"sqlite:///{tmp_path / 'peek.sqlite'}"
    engine = createDbEngine(url, attachSchemas=["pl_concurrent"], sqliteBegin="IMMEDIATE")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE pl_concurrent.counter (n INTEGER)")
        conn.exec_driver_sql("INSERT INTO pl_concurrent.counter VALUES (0)")
    bothRead = threading.Barrier(2, timeout=2)
    errors: list[BaseException] = []

    def increment() -> None:
        try:
            with engine.begin() as conn:
                n = conn.execute(sa.text("SELECT n FROM pl_concurrent.counter")).scalar_one()
                try:
                    bothRead.wait()
                except threading.BrokenBarrierError:
                    pass  # the other transaction is waiting for our lock, as it should
                conn.execute(sa.text("UPDATE pl_concurrent.counter SET n = :n"), {"n": n + 1})
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=increment) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT n FROM pl_concurrent.counter")).scalar_one() == 2
    engine.dispose()


def test_one_process_writers_queue_on_the_gate_not_on_sqlite_busy_waits(tmp_path):
    """Threads of one process take turns through the write gate: with SQLite's busy timeout
    at 0 (any wait inside SQLite fails at once) 8 threads x 25 read-then-write transactions
    all commit, and the counter ends at exactly 200."""
    url = f"sqlite:///{tmp_path / 'peek.sqlite'}"
    engine = createDbEngine(
        url, {"connect_args": {"timeout": 0}}, ["pl_gate"], sqliteBegin="IMMEDIATE"
    )
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE pl_gate.counter (n INTEGER)")
        conn.exec_driver_sql("INSERT INTO pl_gate.counter VALUES (0)")
    errors: list[BaseException] = []

    def increment() -> None:
        for _ in range(25):
            try:
                with engine.begin() as conn:
                    n = conn.execute(sa.text("SELECT n FROM pl_gate.counter")).scalar_one()
                    conn.execute(sa.text("UPDATE pl_gate.counter SET n = :n"), {"n": n + 1})
            except BaseException as e:
                errors.append(e)

    threads = [threading.Thread(target=increment) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [str(e) for e in errors[:3]] == []
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT n FROM pl_gate.counter")).scalar_one() == 200
    engine.dispose()


def test_the_gate_is_free_again_after_commit_rollback_and_a_failed_statement(tmp_path):
    """A writing transaction holds its database's gate only until it commits or rolls back
    (also when a statement in it failed); deferred transactions never take it."""
    path = tmp_path / "peek.sqlite"
    engine = createDbEngine(f"sqlite:///{path}", sqliteBegin="IMMEDIATE")
    gate = SqliteWriteGate.forDatabase(path)

    def gateIsFree() -> bool:
        if not gate.acquire(0):
            return False
        gate.release()
        return True

    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
        assert not gateIsFree()
    assert gateIsFree()
    with pytest.raises(sa.exc.OperationalError), engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO no_such_table VALUES (1)")
    assert gateIsFree()
    deferred = engine.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"})
    with deferred.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert gateIsFree()
    engine.dispose()


def test_sqlite_files_commit_with_synchronous_normal(tmp_path):
    """Every file of a connection (main and attached schemas) is in WAL mode with
    ``synchronous = NORMAL`` (1): commits do not wait for the disk."""
    engine = createDbEngine(f"sqlite:///{tmp_path / 'peek.sqlite'}", attachSchemas=["pl_sync"])
    with engine.connect() as conn:
        for schema in ("main", "pl_sync"):
            assert conn.exec_driver_sql(f'PRAGMA "{schema}".synchronous').scalar() == 1
            assert conn.exec_driver_sql(f'PRAGMA "{schema}".journal_mode').scalar() == "wal"
    engine.dispose()
