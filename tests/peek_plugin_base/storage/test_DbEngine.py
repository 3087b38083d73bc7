"""Engines on embedded SQLite: immediate transactions wait for each other, never fail."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from peek_plugin_base.storage.DbEngine import createDbEngine


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
