"""Apply a tuple action at most once, even across restarts: its uuid is recorded in a table of
the plugin, in the same transaction as the change it makes.

``TupleActionProcessor`` recognises an action pushed again (same ``uuid``) only while logic
runs. An action committed just before logic died, whose answer never went out, is pushed
again by the device after the restart; a delegate that must not apply it twice declares an
``AppliedActions`` table and calls :meth:`AppliedActions.markApplied` in the transaction that
makes the change. The table's unique key decides: a repeat, even one running at the same time
in another thread or process, finds the uuid (or waits on the uncommitted row holding it)
and is not applied. Old rows are pruned: the newest ``keep`` stay, and fewer than ``keep +
pruneEvery`` are kept in all.

Recording costs one statement per action on PostgreSQL and SQLite, an ``INSERT ... ON
CONFLICT DO NOTHING RETURNING id``: a row back means applied now, none means a repeat. It
runs in every action's transaction, so it is kept to one round trip; the older way (a look,
a savepoint, the insert, its release and a prune) cost five, about 15% of logic's CPU per
action in ``bench/action_rate.py``. Other databases take that older way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

#: Longest action uuid recorded (a uuid4 string has 36 characters).
UUID_LENGTH = 100
#: Rows kept by default: repeats of the newest this many applied actions are recognised.
DEFAULT_KEEP = 100_000
#: By default the table is pruned when a new row's id is a multiple of this.
DEFAULT_PRUNE_EVERY = 100


class AppliedActions:
    """A plugin's table of applied action uuids, and the calls that record and check them.

    Declare it once, at import, on the plugin's declarative base (or its ``MetaData``), so the
    table is part of the plugin's schema; create it with the plugin's own Alembic revision
    (see ``docs/plugins/storage.rst``, section "Applying an action once"). Columns: ``id``
    (an increasing integer, used to prune), ``uuid`` (unique) and ``appliedAt`` (UTC).

    Rows older than the newest ``keep`` are deleted when a new row's id is a multiple of
    ``pruneEvery`` (at most ``keep``), so the table holds fewer than ``keep + pruneEvery``
    rows and the action that prunes pays one more statement.
    """

    def __init__(
        self,
        declarativeBase: Any,
        tableName: str = "AppliedAction",
        keep: int = DEFAULT_KEEP,
        pruneEvery: int = DEFAULT_PRUNE_EVERY,
    ) -> None:
        metadata = getattr(declarativeBase, "metadata", declarativeBase)
        if not isinstance(metadata, MetaData):
            raise TypeError(f"{declarativeBase!r} is neither a declarative base nor a MetaData")
        if keep < 1:
            raise ValueError(f"AppliedActions: keep must be >= 1, got {keep}")
        if pruneEvery < 1:
            raise ValueError(f"AppliedActions: pruneEvery must be >= 1, got {pruneEvery}")
        self.keep = keep
        self.pruneEvery = min(pruneEvery, keep)
        self._onConflictInserts: dict[str, Insert] = {}
        self.table = Table(
            tableName,
            metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("uuid", String(UUID_LENGTH), nullable=False),
            Column("appliedAt", DateTime(timezone=True), nullable=False),
            Index(f"idx_{tableName}_uuid", "uuid", unique=True),
        )

    def isApplied(self, session: Session, uuid: str) -> bool:
        """Whether the action ``uuid`` was applied (committed, or earlier in this session)."""
        found = session.execute(select(self.table.c.id).where(self.table.c.uuid == uuid))
        return found.first() is not None

    def markApplied(self, session: Session, uuid: str | None) -> bool:
        """Record ``uuid`` in the session's transaction; False when it is already recorded.

        Call it before the change, in the same transaction, and make the change (then commit)
        only when it returns True. A repeat committed earlier is seen at once; one being
        applied by another transaction at the same time holds the uuid's unique key, so this
        insert waits for that transaction and returns False once it commits (True if it
        rolled back). The session's earlier work is kept either way: on PostgreSQL and SQLite
        a repeat's insert does nothing instead of failing, elsewhere it runs in a savepoint.
        An action without a uuid cannot be recognised: True, nothing recorded.
        """
        if not uuid:
            return True
        values = {"uuid": uuid, "appliedAt": datetime.now(UTC)}
        onConflictInsert = self._onConflictInsert(session.get_bind().dialect.name)
        if onConflictInsert is not None:
            newId = session.execute(onConflictInsert, values).scalar_one_or_none()
            if newId is None:
                return False
        else:
            if self.isApplied(session, uuid):
                return False
            try:
                with session.begin_nested():
                    newId = session.execute(
                        insert(self.table).values(values).returning(self.table.c.id)
                    ).scalar_one()
            except IntegrityError:
                return False
        if newId % self.pruneEvery == 0:
            session.execute(delete(self.table).where(self.table.c.id <= newId - self.keep))
        return True

    def _onConflictInsert(self, dialectName: str) -> Insert | None:
        """The one-statement insert for ``dialectName`` (made once), None when it has none."""
        statement = self._onConflictInserts.get(dialectName)
        if statement is not None:
            return statement
        if dialectName == "postgresql":
            statement = postgresql.insert(self.table).on_conflict_do_nothing()
        elif dialectName == "sqlite":
            statement = sqlite.insert(self.table).on_conflict_do_nothing()
        else:
            return None
        statement = statement.returning(self.table.c.id)
        self._onConflictInserts[dialectName] = statement
        return statement
