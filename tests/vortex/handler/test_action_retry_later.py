"""Transient failures: which errors are "retry later", and actions pushed again until applied.

The classification (``vortex.handler.TransientFailure``) is checked against real errors from
SQLite, PostgreSQL and psycopg2; the retry path with a real processor on logic, the field
proxy and a device's ``TupleActionPushClient`` over loopback websockets, whose delegate
writes a real SQLite file that another connection holds locked.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from linkedvortexes import FIELD, LOGIC, settle, spinUntil
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from twisted.internet import defer
from twisted.python.failure import Failure

from peek_plugin_base.testing.FreePort import heldTcpPort
from peek_plugin_base.testing.PostgreSQLTestServer import PostgreSQLTestServer
from vortex.handler.MessageUtil import (
    ERROR_EXCEPTION,
    ERROR_RETRY_LATER,
    TupleActionError,
    errorResultForFailure,
)
from vortex.handler.TransientFailure import RetryLaterError, isTransientFailure
from vortex.handler.TupleActionProcessor import (
    TupleActionProcessor,
    TupleActionProcessorDelegateABC,
)
from vortex.handler.TupleActionProcessorProxy import TupleActionProcessorProxy
from vortex.handler.TupleActionPushClient import TupleActionPushClient
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.rpc.RPC import VortexRPCError, vortexRPC
from vortex.Tuple import Tuple, TupleField, addTupleType
from vortex.TupleAction import TupleActionABC
from vortex.VortexFactory import NoVortexException

PROCESSOR = "tests.retryLater"
FILT = {"plugin": "tests_retry_later"}


@addTupleType
class RetryAddActionTuple(TupleActionABC):
    """Adds ``offset`` to the counter."""

    __tupleType__ = "tests.handler.RetryAddActionTuple"
    offset = TupleField()


@addTupleType
class RetryTotalTuple(Tuple):
    """The counter after an action."""

    __tupleType__ = "tests.handler.RetryTotalTuple"
    total = TupleField()


def psycopg2Url(url: str) -> str:
    """``url`` with the psycopg2 driver named (SQLAlchemy 2.1 would pick psycopg 3)."""
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)


def failureOf(call) -> BaseException:
    """The exception ``call()`` raises (the test fails if it raises none)."""
    with pytest.raises(Exception) as info:
        call()
    return info.value


# ---- classification ----------------------------------------------------------------------


@pytest.fixture
def sqliteEngine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file with a table ``t`` (unique ``k``) and an engine that never waits."""
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", connect_args={"timeout": 0})
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    yield engine
    engine.dispose()


def test_sqlite_locked_database_is_transient(sqliteEngine: Engine, tmp_path: Path) -> None:
    """A write while another connection holds the write lock ("database is locked")."""
    blocker = sqlite3.connect(tmp_path / "db.sqlite", timeout=0)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with sqliteEngine.begin() as conn:
            error = failureOf(lambda: conn.execute(text("INSERT INTO t VALUES (2)")))
    finally:
        blocker.rollback()
        blocker.close()
    assert isinstance(error, OperationalError) and "locked" in str(error)
    assert isTransientFailure(error)
    assert error.orig is not None and isTransientFailure(error.orig)


def test_sqlite_programming_and_constraint_errors_are_not_transient(sqliteEngine: Engine) -> None:
    """No such table (an OperationalError in SQLite) and a unique violation are final."""
    with sqliteEngine.begin() as conn:
        missing = failureOf(lambda: conn.execute(text("SELECT * FROM nothing_here")))
    with sqliteEngine.begin() as conn:
        duplicate = failureOf(lambda: conn.execute(text("INSERT INTO t VALUES (1)")))
    assert isinstance(missing, OperationalError) and isinstance(duplicate, IntegrityError)
    assert not isTransientFailure(missing)
    assert not isTransientFailure(duplicate)


def test_postgres_refused_connection_is_transient() -> None:
    """Connecting to a port nobody listens on, raw psycopg2 and through SQLAlchemy."""
    with heldTcpPort() as port:
        url = f"postgresql://nobody@127.0.0.1:{port}/none"
        raw = failureOf(lambda: psycopg2.connect(url, connect_timeout=5))
        engine = create_engine(psycopg2Url(url), connect_args={"connect_timeout": 5})
        try:
            wrapped = failureOf(engine.connect)
        finally:
            engine.dispose()
    assert isinstance(raw, psycopg2.OperationalError)
    assert isTransientFailure(raw)
    assert isinstance(wrapped, OperationalError)
    assert isTransientFailure(wrapped)


def test_postgres_dropped_connection_is_transient_and_sql_errors_are_not(
    peekPostgresServer: PostgreSQLTestServer, peekPostgresUrl: str
) -> None:
    """A backend terminated by the server mid-session is transient; a unique violation and
    a syntax error on the same server are not."""
    engine = create_engine(psycopg2Url(peekPostgresUrl))
    admin = psycopg2.connect(peekPostgresServer.url("postgres"))
    admin.autocommit = True
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with engine.begin() as conn:
            duplicate = failureOf(lambda: conn.execute(text("INSERT INTO t VALUES (1)")))
        with engine.begin() as conn:
            syntax = failureOf(lambda: conn.execute(text("SELEC 1")))
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
            with admin.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
            dropped = failureOf(lambda: conn.execute(text("SELECT 1")))
    finally:
        admin.close()
        engine.dispose()
    assert isinstance(duplicate, IntegrityError) and not isTransientFailure(duplicate)
    assert isinstance(syntax, ProgrammingError) and not isTransientFailure(syntax)
    assert isinstance(dropped, OperationalError) and dropped.connection_invalidated
    assert isTransientFailure(dropped)


def test_retry_later_error_and_explicit_causes_are_transient() -> None:
    """``RetryLaterError`` is; an error raised *from* a transient one is; plain errors, and
    one merely raised while handling a transient one, are not."""
    assert isTransientFailure(RetryLaterError("busy"))
    assert not isTransientFailure(ValueError("bad"))
    assert not isTransientFailure(sqlite3.OperationalError("built by hand, no result code"))

    def raiseFrom(cause: BaseException, explicit: bool) -> BaseException:
        try:
            try:
                raise cause
            except type(cause) as e:
                if explicit:
                    raise LookupError("wrapped") from e
                raise LookupError("while handling")  # noqa: B904 - implicit context on purpose
        except LookupError as wrapped:
            return wrapped

    assert isTransientFailure(raiseFrom(RetryLaterError("busy"), explicit=True))
    assert not isTransientFailure(raiseFrom(RetryLaterError("busy"), explicit=False))


def test_error_result_of_a_transient_failure_is_retry_later_without_driver_text(
    sqliteEngine: Engine, tmp_path: Path
) -> None:
    """The answer's code is ``retry-later``; a driver's text (paths, SQL) stays on logic,
    a ``RetryLaterError``'s own message is kept; other errors stay ``exception``."""
    blocker = sqlite3.connect(tmp_path / "db.sqlite", timeout=0)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with sqliteEngine.begin() as conn:
            locked = failureOf(lambda: conn.execute(text("INSERT INTO t VALUES (2)")))
    finally:
        blocker.rollback()
        blocker.close()
    result = errorResultForFailure(Failure(locked))
    assert result["error"] == ERROR_RETRY_LATER
    assert result["type"] == "OperationalError"
    assert "INSERT" not in result["message"] and "locked" not in result["message"]
    own = errorResultForFailure(Failure(RetryLaterError("the printer is warming up")))
    assert (own["error"], own["message"]) == (ERROR_RETRY_LATER, "the printer is warming up")
    assert errorResultForFailure(Failure(ValueError("no")))["error"] == ERROR_EXCEPTION


# ---- the retry path ------------------------------------------------------------------------


class LockedCounter(TupleActionProcessorDelegateABC):
    """Adds each action's offset to a counter row of a real SQLite file, and records the
    action's uuid with it (once per uuid, like ``AppliedActions``). Another connection holds
    the write lock until ``lockedFor`` calls have failed "database is locked"; a negative
    offset violates the uuid table's check (a final error)."""

    def __init__(self, path: Path, lockedFor: int) -> None:
        self.engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
        with self.engine.begin() as conn:
            conn.execute(text("CREATE TABLE counter (total INTEGER NOT NULL)"))
            conn.execute(text("INSERT INTO counter VALUES (0)"))
            conn.execute(
                text("CREATE TABLE applied (uuid TEXT PRIMARY KEY, o INTEGER CHECK (o > 0))")
            )
        self.blocker: sqlite3.Connection | None = None
        if lockedFor > 0:
            self.blocker = sqlite3.connect(path, timeout=0)
            self.blocker.execute("BEGIN IMMEDIATE")
        self.lockedFor = lockedFor
        self.calls = 0

    def processTupleAction(self, tupleAction: TupleActionABC) -> list[RetryTotalTuple]:
        assert isinstance(tupleAction, RetryAddActionTuple)
        self.calls += 1
        try:
            with self.engine.begin() as conn:
                seen = conn.execute(
                    text("SELECT 1 FROM applied WHERE uuid = :u"), {"u": tupleAction.uuid}
                ).first()
                if seen is None:
                    conn.execute(
                        text("INSERT INTO applied VALUES (:u, :o)"),
                        {"u": tupleAction.uuid, "o": tupleAction.offset},
                    )
                    conn.execute(
                        text("UPDATE counter SET total = total + :o"), {"o": tupleAction.offset}
                    )
                total = conn.execute(text("SELECT total FROM counter")).scalar()
        finally:
            if self.calls >= self.lockedFor and self.blocker is not None:
                self.blocker.rollback()
                self.blocker.close()
                self.blocker = None
        return [RetryTotalTuple(total=total)]

    def close(self) -> None:
        if self.blocker is not None:
            self.blocker.close()
        self.engine.dispose()


class AnswerCodes:
    """Every action answer reaching a factory: None for success, else the error code."""

    def __init__(self, factory) -> None:
        self.codes: list[str | None] = []
        PayloadEndpoint(
            {"key": "vortex.action.response:" + PROCESSOR}, self._seen, payloadIO=factory.payloadIO
        )

    def _seen(self, envelope, **_) -> None:
        result = envelope.result
        self.codes.append(result["error"] if isinstance(result, dict) else None)


@pytest.fixture
def site(vortexes, tmp_path: Path):
    """Logic's processor with a ``LockedCounter`` locked for 3 calls, field's proxy, and a
    device push client on field that retries within milliseconds."""

    def make(lockedFor: int = 3):
        logic = vortexes.server(LOGIC)
        counter = LockedCounter(tmp_path / "counter.sqlite", lockedFor)
        TupleActionProcessor(
            PROCESSOR, additionalFilt=FILT, defaultDelegate=counter, vortexFactory=logic
        )
        field = vortexes.server(FIELD)
        TupleActionProcessorProxy(PROCESSOR, LOGIC, additionalFilt=FILT, vortexFactory=field)
        vortexes.connect(field, LOGIC)
        device = vortexes.client("device-1", FIELD, device=True)
        client = TupleActionPushClient(
            FIELD,
            PROCESSOR,
            additionalFilt=FILT,
            vortexFactory=device,
            retryInitialSeconds=0.001,
            retryCapSeconds=0.01,
        )
        made.append(counter)
        return counter, client, AnswerCodes(device)

    made: list[LockedCounter] = []
    yield make
    for counter in made:
        counter.close()


def test_action_answered_retry_later_is_pushed_again_until_applied_once(site) -> None:
    """While the database is locked the device is answered ``retry-later`` and pushes the
    same action again; once it is free the action is applied once and answered once."""
    counter, client, answers = site(lockedFor=3)
    assert settle(client.pushAction(RetryAddActionTuple(offset=5))) == [RetryTotalTuple(total=5)]
    assert counter.calls == 4
    assert answers.codes == [ERROR_RETRY_LATER] * 3 + [None]


def test_final_error_is_not_pushed_again(site) -> None:
    """A constraint violation is answered once as ``exception`` and not retried."""
    counter, client, answers = site(lockedFor=0)
    with pytest.raises(TupleActionError) as info:
        settle(client.pushAction(RetryAddActionTuple(offset=-1)))
    assert info.value.code == ERROR_EXCEPTION
    assert counter.calls == 1
    assert answers.codes == [ERROR_EXCEPTION]


def test_waiting_retry_fails_when_the_client_shuts_down(vortexes) -> None:
    """A push waiting to be pushed again fails with ``NoVortexException`` at shutdown, and
    is not pushed again."""
    logic = vortexes.server(LOGIC)
    calls: list[str] = []

    class Busy(TupleActionProcessorDelegateABC):
        def processTupleAction(self, tupleAction):
            calls.append(tupleAction.uuid)
            raise RetryLaterError("busy")

    TupleActionProcessor(
        PROCESSOR, additionalFilt=FILT, defaultDelegate=Busy(), vortexFactory=logic
    )
    agent = vortexes.client("peek-agent-service", LOGIC)
    client = TupleActionPushClient(
        LOGIC, PROCESSOR, additionalFilt=FILT, vortexFactory=agent, retryInitialSeconds=3600.0,
        retryCapSeconds=3600.0,
    )  # fmt: skip
    d = client.pushAction(RetryAddActionTuple(offset=1))
    spinUntil(lambda: len(calls) == 1 and client._waitingRetries)
    client.shutdown()
    with pytest.raises(NoVortexException):
        settle(d)
    assert len(calls) == 1


def test_cancelled_push_is_not_pushed_again(vortexes) -> None:
    """Cancelling the push's Deferred while it waits to be pushed again stops it."""
    logic = vortexes.server(LOGIC)
    calls: list[str] = []

    class Busy(TupleActionProcessorDelegateABC):
        def processTupleAction(self, tupleAction):
            calls.append(tupleAction.uuid)
            raise RetryLaterError("busy")

    TupleActionProcessor(
        PROCESSOR, additionalFilt=FILT, defaultDelegate=Busy(), vortexFactory=logic
    )
    agent = vortexes.client("peek-agent-service", LOGIC)
    client = TupleActionPushClient(
        LOGIC, PROCESSOR, additionalFilt=FILT, vortexFactory=agent, retryInitialSeconds=3600.0,
        retryCapSeconds=3600.0,
    )  # fmt: skip
    d = client.pushAction(RetryAddActionTuple(offset=1))
    spinUntil(lambda: len(calls) == 1 and client._waitingRetries)
    (retry,) = client._waitingRetries.values()
    d.cancel()
    with pytest.raises(defer.CancelledError):
        settle(d)
    assert not retry.active() and not client._waitingRetries


def test_rpc_failing_transiently_is_answered_retry_later(vortexes) -> None:
    """An RPC raising a transient failure reaches its caller as ``retry-later`` (with a
    ``RetryLaterError``'s own message); any other exception stays ``exception``."""
    logic = vortexes.server(LOGIC)
    agent = vortexes.client("peek-agent-service", LOGIC)

    @vortexRPC(LOGIC, additionalFilt=FILT)
    def lookUp(busy: bool) -> int:
        if busy:
            raise RetryLaterError("the index is rebuilding")
        raise KeyError("no such thing")

    lookUp.start(vortexFactory=logic)
    try:
        with pytest.raises(VortexRPCError) as busy:
            settle(lookUp.using(agent)(True))
        with pytest.raises(VortexRPCError) as missing:
            settle(lookUp.using(agent)(False))
    finally:
        lookUp.shutdown()
    assert (busy.value.code, busy.value.remoteMessage) == (
        ERROR_RETRY_LATER,
        "the index is rebuilding",
    )
    assert missing.value.code == ERROR_EXCEPTION
