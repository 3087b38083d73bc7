"""AppliedActions: an action's uuid recorded with its change makes a repeat change nothing,
on real SQLite and PostgreSQL, after a restart, when two run at once, and the table stays
bounded."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, event, func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from peek_plugin_base.storage.AlembicEnvBase import ensureSchemaExists
from peek_plugin_base.storage.AppliedActions import AppliedActions
from peek_plugin_base.storage.DbEngine import createDbEngine
from peek_plugin_base.testing.ReactorWait import spinReactorUntil

SCHEMA = "pl_appliedtest"
#: Rows the pruning test keeps.
KEEP = 5

metadata = MetaData(schema=SCHEMA)
counter = Table("counter", metadata, Column("id", Integer, primary_key=True), Column("n", Integer))
applied = AppliedActions(metadata, "AppliedAction", keep=KEEP)


def _engine(url: str) -> Engine:
    """An engine as a plugin's DbConnection makes one: schema attached, SQLite IMMEDIATE."""
    return createDbEngine(url, attachSchemas=[SCHEMA], sqliteBegin="IMMEDIATE")


@pytest.fixture(params=["sqlite", "postgresql"])
def dbUrl(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A database with the counter (at 0) and the applied actions table, on each dialect."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'peek.sqlite'}"
    else:
        url = request.getfixturevalue("peekPostgresUrl")
    engine = _engine(url)
    ensureSchemaExists(engine, SCHEMA)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(counter.insert().values(id=1, n=0))
    engine.dispose()
    yield url


@pytest.fixture
def sessions(dbUrl: str) -> Iterator[Callable[[], Session]]:
    """Sessions on a new engine of the test database."""
    engine = _engine(dbUrl)
    yield sessionmaker(bind=engine)
    engine.dispose()


def _applyIncrement(session: Session, actionUuid: str) -> bool:
    """Increment the counter once per action uuid, the way a delegate does; True if applied."""
    if not applied.markApplied(session, actionUuid):
        return False
    session.execute(select(counter.c.n).where(counter.c.id == 1).with_for_update())
    session.execute(update(counter).where(counter.c.id == 1).values(n=counter.c.n + 1))
    return True


def _count(sessions: Callable[[], Session]) -> int:
    with sessions() as session:
        return session.execute(select(counter.c.n)).scalar_one()


def test_aRepeatAfterARestartChangesNothing(dbUrl: str, sessions) -> None:
    """An action applied and committed, then pushed again on a new engine (a restarted
    logic, with nothing in memory), is recognised: the counter changed once."""
    actionUuid = str(uuid.uuid4())
    with sessions() as session:
        assert _applyIncrement(session, actionUuid)
        session.commit()

    restarted = _engine(dbUrl)
    try:
        with Session(restarted) as session:
            assert applied.isApplied(session, actionUuid)
            assert not _applyIncrement(session, actionUuid)
            session.commit()
    finally:
        restarted.dispose()
    assert _count(sessions) == 1


def test_aRolledBackActionIsNotRecorded(sessions) -> None:
    """An action whose transaction rolled back (the change failed) was not applied, so its
    repeat is applied."""
    actionUuid = str(uuid.uuid4())
    with sessions() as session:
        assert _applyIncrement(session, actionUuid)
        session.rollback()
    with sessions() as session:
        assert _applyIncrement(session, actionUuid)
        session.commit()
    assert _count(sessions) == 1


def _lockWaiters(sessions: Callable[[], Session]) -> int:
    """PostgreSQL backends of this database waiting for a lock."""
    with sessions() as session:
        return session.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            )
        ).scalar_one()


def test_aDuplicateRunningAtTheSameTimeIsAppliedOnce(dbUrl: str, sessions) -> None:
    """While one transaction has applied an action but not committed, a second one with the
    same uuid (another thread or process) waits on the uuid's unique key; once the first
    commits, the second is told it was applied and changes nothing; its transaction stays
    usable (the repeat's insert does nothing instead of failing the transaction)."""
    actionUuid = str(uuid.uuid4())
    first = sessions()
    assert _applyIncrement(first, actionUuid)
    outcome: list[object] = []

    def duplicate() -> None:
        try:
            with sessions() as session:
                appliedHere = _applyIncrement(session, actionUuid)
                outcome.append((appliedHere, session.execute(select(counter.c.n)).scalar_one()))
                session.commit()
        except BaseException as e:
            outcome.append(e)

    thread = threading.Thread(target=duplicate)
    thread.start()
    if dbUrl.startswith("postgresql"):
        # The duplicate must be blocked on the first's uncommitted row, not yet finished.
        spinReactorUntil(lambda: bool(outcome) or _lockWaiters(sessions) > 0, timeout=30)
        assert outcome == []
    first.commit()
    first.close()
    thread.join(30)

    assert outcome == [(False, 1)]
    assert _count(sessions) == 1


def test_pruningKeepsTheNewestRowsOnly(sessions) -> None:
    """After more actions than ``keep``, the table holds the newest ``keep``: those are still
    recognised as repeats, the oldest are forgotten."""
    uuids = [str(uuid.uuid4()) for _ in range(4 * KEEP)]
    for actionUuid in uuids:
        with sessions() as session:
            assert _applyIncrement(session, actionUuid)
            session.commit()

    with sessions() as session:
        assert session.execute(select(func.count()).select_from(applied.table)).scalar_one() == KEEP
        assert all(applied.isApplied(session, u) for u in uuids[-KEEP:])
        assert not any(applied.isApplied(session, u) for u in uuids[:-KEEP])


def test_anActionWithoutUuidIsAppliedAndNotRecorded(sessions) -> None:
    """Without a uuid a repeat cannot be recognised: the change is made, nothing recorded."""
    with sessions() as session:
        assert applied.markApplied(session, None)
        assert applied.markApplied(session, "")
        assert session.execute(select(func.count()).select_from(applied.table)).scalar_one() == 0


def test_recordingAnActionIsOneStatement(dbUrl: str) -> None:
    """On PostgreSQL and SQLite, recording a new action and recognising a repeat each cost one
    statement (``INSERT ... ON CONFLICT DO NOTHING RETURNING``): it runs in every action's
    transaction. Before, a look, a savepoint, the insert, its release and a prune cost five."""
    engine = _engine(dbUrl)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    actionUuid = str(uuid.uuid4())
    try:
        for expected in (True, False):
            with Session(engine) as session:
                session.execute(select(1))  # BEGIN and the connection's set-up come first
                statements.clear()
                # The table's first id is 1, not a multiple of pruneEvery: no pruning.
                assert applied.markApplied(session, actionUuid) is expected
                assert len(statements) == 1, statements
                session.commit()
    finally:
        engine.dispose()


#: The same table, pruned every third id.
appliedPrunedEvery3 = AppliedActions(
    MetaData(schema=SCHEMA), "AppliedAction", keep=KEEP, pruneEvery=3
)


def test_pruningEveryFewActionsBoundsTheTable(sessions) -> None:
    """With ``pruneEvery`` the table is pruned only when a new id is a multiple of it, and
    never holds ``keep + pruneEvery`` rows or more; the newest ``keep`` are always known."""
    uuids = [str(uuid.uuid4()) for _ in range(4 * KEEP)]
    sizes: list[int] = []
    for actionUuid in uuids:
        with sessions() as session:
            assert appliedPrunedEvery3.markApplied(session, actionUuid)
            session.commit()
            sizes.append(
                session.execute(select(func.count()).select_from(applied.table)).scalar_one()
            )
    assert max(sizes) < KEEP + 3
    # Ids run 1, 2, 3...: id 18 (a multiple of 3) leaves 14..18, then 19 and 20 come.
    assert sizes[17] == KEEP and sizes[-1] == KEEP + 2
    with sessions() as session:
        assert all(appliedPrunedEvery3.isApplied(session, u) for u in uuids[-KEEP - 2 :])
        assert not any(appliedPrunedEvery3.isApplied(session, u) for u in uuids[: -KEEP - 2])
