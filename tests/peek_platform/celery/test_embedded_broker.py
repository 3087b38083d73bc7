"""The embedded broker channel on a real SQLite file: rows are deleted on ack, the same row
is requeued, and rows held by a process that is gone are delivered again."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection

from peek_platform.celery.embedded_broker import (
    OWNER_TABLE,
    ROW_ID_PROPERTY,
    EmbeddedSqliteTransport,
    processStart,
)

#: Seconds any wait for a message may take.
WAIT_SECONDS = 10.0
QUEUE = "tasks"

# kombu's models use SQLAlchemy's deprecated ``noload`` strategy (kombu's, not ours).
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy")

#: A consumer in another process: takes one message, prints its row id, then waits until
#: its stdin closes (the test kills it meanwhile, as a worker main process dies).
_HOLDER = f"""
import sys
from kombu import Connection
from peek_platform.celery.embedded_broker import EmbeddedSqliteTransport
with Connection(sys.argv[1], transport=EmbeddedSqliteTransport) as connection:
    message = connection.SimpleQueue({QUEUE!r}).get(timeout={WAIT_SECONDS})
    print(message.properties[{ROW_ID_PROPERTY!r}], flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def brokerFile(tmp_path: Path) -> Path:
    """A broker file path (created by the first connection)."""
    return tmp_path / "broker.sqlite"


@pytest.fixture
def connect(brokerFile: Path) -> Iterator[Any]:
    """Opens connections to the embedded broker file; releases them all at the end."""
    opened: list[Connection] = []

    def open_() -> Connection:
        connection = Connection(f"sqlite:///{brokerFile}", transport=EmbeddedSqliteTransport)
        opened.append(connection)
        return connection

    yield open_
    for connection in opened:
        connection.release()


def sql(brokerFile: Path, statement: str) -> list[Any]:
    """Run one statement on the broker file (committed); its rows."""
    with closing(sqlite3.connect(brokerFile)) as db, db:
        return db.execute(statement).fetchall()


def rows(brokerFile: Path) -> list[tuple[int, int]]:
    """``(id, visible)`` of every message row, by id."""
    return sql(brokerFile, "SELECT id, visible FROM kombu_message ORDER BY id")


def owners(brokerFile: Path) -> list[tuple[int, int]]:
    """``(message id, owner pid)`` of every owner record, by message id."""
    return sql(brokerFile, f"SELECT message_id, pid FROM {OWNER_TABLE} ORDER BY message_id")


@pytest.fixture
def publish(connect: Any, brokerFile: Path) -> Any:
    """Puts message bodies on the queue and answers the ids of all rows."""

    def publish_(*bodies: str) -> list[int]:
        queue = connect().SimpleQueue(QUEUE)
        for body in bodies:
            queue.put(body)
        queue.close()
        return [rowId for rowId, _ in rows(brokerFile)]

    return publish_


@pytest.fixture
def holder(brokerFile: Path) -> Iterator[Any]:
    """Starts consumers in other processes that each take one message and hold it."""
    started: list[subprocess.Popen] = []

    def start() -> tuple[subprocess.Popen, int]:
        process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, f"sqlite:///{brokerFile}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, "the holding consumer took no message"
        return process, int(line)

    yield start
    for process in started:
        process.kill()
        process.communicate()


def test_ack_deletes_the_row(connect, brokerFile, publish):
    """An acknowledged message's row and owner record are deleted, not kept invisible."""
    publish("one")
    queue = connect().SimpleQueue(QUEUE)
    message = queue.get(timeout=WAIT_SECONDS)
    assert owners(brokerFile) == [(message.properties[ROW_ID_PROPERTY], os.getpid())]
    message.ack()
    assert (rows(brokerFile), owners(brokerFile)) == ([], [])


def test_reject_without_requeue_deletes_the_row(connect, brokerFile, publish):
    """A message rejected for good is deleted."""
    publish("one")
    queue = connect().SimpleQueue(QUEUE)
    queue.get(timeout=WAIT_SECONDS).reject()
    assert (rows(brokerFile), owners(brokerFile)) == ([], [])


def test_reject_with_requeue_makes_the_same_row_visible(connect, brokerFile, publish):
    """A requeued message is its own row made visible again (no copy) and is delivered again."""
    [rowId] = publish("one")
    queue = connect().SimpleQueue(QUEUE)
    queue.get(timeout=WAIT_SECONDS).reject(requeue=True)
    assert (rows(brokerFile), owners(brokerFile)) == ([(rowId, 1)], [])
    again = queue.get(timeout=WAIT_SECONDS)
    assert (again.payload, again.properties[ROW_ID_PROPERTY]) == ("one", rowId)


def test_warm_shutdown_makes_unacked_rows_visible_once(connect, brokerFile, publish):
    """Closing a connection with unacknowledged messages (Celery's warm shutdown) makes their
    rows visible again, once each; the acknowledged one stays deleted."""
    rowIds = publish("one", "two", "three")
    consumer = connect()
    queue = consumer.SimpleQueue(QUEUE)
    taken = [queue.get(timeout=WAIT_SECONDS) for _ in rowIds]
    taken[0].ack()
    consumer.release()
    assert (rows(brokerFile), owners(brokerFile)) == ([(rowIds[1], 1), (rowIds[2], 1)], [])
    queue = connect().SimpleQueue(QUEUE)
    assert [queue.get(timeout=WAIT_SECONDS).payload for _ in range(2)] == ["two", "three"]
    with pytest.raises(queue.Empty):
        queue.get_nowait()


def test_rows_of_a_gone_owner_are_delivered_again(connect, brokerFile, publish, holder):
    """A message taken by a process that was then killed is delivered again, same row."""
    [rowId] = publish("one")
    process, taken = holder()
    process.kill()
    process.communicate()
    assert (taken, rows(brokerFile)) == (rowId, [(rowId, 0)])
    message = connect().SimpleQueue(QUEUE).get(timeout=WAIT_SECONDS)
    assert (message.payload, message.properties[ROW_ID_PROPERTY]) == ("one", rowId)
    assert owners(brokerFile) == [(rowId, os.getpid())]


def test_rows_of_a_live_owner_are_left_alone(connect, brokerFile, publish, holder):
    """A message held by a process that still runs is not recovered by another consumer."""
    [rowId] = publish("one")
    process, _ = holder()
    queue = connect().SimpleQueue(QUEUE)
    assert queue.channel.recoverOrphans() == 0
    assert (rows(brokerFile), owners(brokerFile)) == ([(rowId, 0)], [(rowId, process.pid)])
    with pytest.raises(queue.Empty):
        queue.get_nowait()


def test_owner_whose_pid_now_names_another_process_is_gone(connect, brokerFile, publish, holder):
    """An owner record whose process start differs from the running pid's (the pid was
    reused) counts as gone: its row becomes visible again."""
    [rowId] = publish("one")
    holder()
    sql(brokerFile, f"UPDATE {OWNER_TABLE} SET started = 'an earlier process'")
    assert connect().default_channel.recoverOrphans() == 1
    assert (rows(brokerFile), owners(brokerFile)) == ([(rowId, 1)], [])


def test_kombus_leftover_invisible_rows_are_deleted_not_run(connect, brokerFile, publish):
    """A row delivered by kombu's own channel (invisible, no owner: installed before this
    channel) is deleted by the recovery check and never delivered again."""
    first, second = publish("old", "new")
    with Connection(f"sqla+sqlite:///{brokerFile}") as plain:
        old = plain.SimpleQueue(QUEUE).get(timeout=WAIT_SECONDS)
        old.ack()  # kombu's ack leaves the row invisible
    assert old.payload == "old"
    assert rows(brokerFile) == [(first, 0), (second, 1)]
    queue = connect().SimpleQueue(QUEUE)
    assert queue.get(timeout=WAIT_SECONDS).payload == "new"
    assert rows(brokerFile) == [(second, 0)]


def test_process_start_tells_a_live_process_from_a_gone_one():
    """``processStart`` names the running process, and is None once it exited."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    assert processStart(process.pid) is not None
    process.communicate()
    assert processStart(process.pid) is None
