"""CeleryDbConn: a per-process engine made after fork, a session per task, attached schemas."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Column, Integer, MetaData, String, text
from sqlalchemy.orm import declarative_base

from peek_plugin_base.worker.CeleryDbConn import (
    WorkerDbConn,
    WorkerDbNotConfigured,
    sqliteSchemasBeside,
    workerAttachSchemas,
)

Base = declarative_base(metadata=MetaData(schema="pl_dbtest"))


class Row(Base):
    __tablename__ = "Row"
    id = Column(Integer, primary_key=True, autoincrement=True)
    text = Column(String)


@pytest.fixture
def conn(tmp_path):
    """A configured connection to a SQLite file with the plugin schema attached."""
    c = WorkerDbConn()
    c.configure(f"sqlite:///{tmp_path / 'peek.sqlite'}", attachSchemas=["pl_dbtest"])
    Base.metadata.create_all(c.engine())
    yield c
    c.shutdown()


def test_unconfigured_use_says_what_to_do():
    """Using the connection before the worker configured it raises a clear error."""
    with pytest.raises(WorkerDbNotConfigured, match=r"sqlalchemy\.connectUrl"):
        WorkerDbConn().engine()


def test_session_is_the_same_within_a_task_and_new_after_end_task(conn):
    """Each task gets one session; ``endTask`` closes it so the next task gets a new one."""
    first = conn.session()
    assert conn.session() is first
    conn.endTask()
    assert conn.session() is not first


def test_end_task_discards_uncommitted_work(conn):
    """Work a task did not commit is rolled back when its session is closed."""
    conn.session().add(Row(text="lost"))
    conn.session().flush()
    conn.endTask()
    assert conn.session().query(Row).count() == 0


def test_attached_schema_rows_are_written_to_the_schema_file(conn, tmp_path):
    """Rows of a schema-qualified model land in ``<schema>.sqlite`` beside the database."""
    conn.session().add(Row(text="kept"))
    conn.session().commit()
    assert (tmp_path / "pl_dbtest.sqlite").exists()
    with conn.engine().connect() as c:
        assert c.execute(text('SELECT text FROM pl_dbtest."Row"')).scalar() == "kept"


def test_engine_is_recreated_in_a_forked_process(conn, monkeypatch):
    """After a fork (new pid) the process gets its own engine, not the inherited one."""
    inherited = conn.engine()
    parentPid = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: parentPid + 1)
    assert conn.engine() is not inherited


def test_prefetch_ids_are_unique_and_consecutive(conn):
    """``prefetchDeclarativeIds`` hands out ids no other prefetch or insert will use."""
    first = list(conn.prefetchDeclarativeIds(Row, 3))
    second = list(conn.prefetchDeclarativeIds(Row, 2))
    assert len(set(first + second)) == 5


def test_attach_list_has_plugin_schemas_and_existing_schema_files(tmp_path):
    """On SQLite a worker attaches its plugins' schemas plus every schema file present."""
    (tmp_path / "peek.sqlite").touch()
    (tmp_path / "pl_other.sqlite").touch()
    (tmp_path / "not-a-schema.sqlite").touch()
    url = f"sqlite:///{tmp_path / 'peek.sqlite'}"
    assert sqliteSchemasBeside(url) == ["pl_other"]
    assert workerAttachSchemas(url, ["pl_mine"]) == ["pl_mine", "pl_other"]
    assert workerAttachSchemas("postgresql://h/db", ["pl_mine"]) == []
