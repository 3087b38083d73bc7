"""Apply a tuple action at most once, even across restarts: its uuid is recorded in a table of
the plugin, in the same transaction as the change it makes.

``TupleActionProcessor`` recognises an action pushed again (same ``uuid``) only while logic
runs. An action committed just before logic died, whose answer never went out, is pushed
again by the device after the restart; a delegate that must not apply it twice declares an
``AppliedActions`` table and calls :meth:`AppliedActions.markApplied` in the transaction that
makes the change. The table's unique key decides: a repeat, even one running at the same time
in another thread or process, finds the uuid (or waits on the uncommitted row holding it)
and is not applied. Only the newest ``keep`` rows are kept.
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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

#: Longest action uuid recorded (a uuid4 string has 36 characters).
UUID_LENGTH = 100
#: Rows kept by default: repeats of the newest this many applied actions are recognised.
DEFAULT_KEEP = 100_000


class AppliedActions:
    """A plugin's table of applied action uuids, and the calls that record and check them.

    Declare it once, at import, on the plugin's declarative base (or its ``MetaData``), so the
    table is part of the plugin's schema; create it with the plugin's own Alembic revision
    (see ``docs/plugins/storage.rst``, section "Applying an action once"). Columns: ``id``
    (an increasing integer, used to prune), ``uuid`` (unique) and ``appliedAt`` (UTC).
    """

    def __init__(
        self, declarativeBase: Any, tableName: str = "AppliedAction", keep: int = DEFAULT_KEEP
    ) -> None:
        metadata = getattr(declarativeBase, "metadata", declarativeBase)
        if not isinstance(metadata, MetaData):
            raise TypeError(f"{declarativeBase!r} is neither a declarative base nor a MetaData")
        if keep < 1:
            raise ValueError(f"AppliedActions: keep must be >= 1, got {keep}")
        self.keep = keep
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
        rolled back). The session's earlier work is kept either way (the insert runs in a
        savepoint). Rows older than the newest ``keep`` are deleted. An action without a
        uuid cannot be recognised: True, nothing recorded.
        """
        if not uuid:
            return True
        if self.isApplied(session, uuid):
            return False
        try:
            with session.begin_nested():
                newId = session.execute(
                    insert(self.table)
                    .values(uuid=uuid, appliedAt=datetime.now(UTC))
                    .returning(self.table.c.id)
                ).scalar_one()
        except IntegrityError:
            return False
        session.execute(delete(self.table).where(self.table.c.id <= newId - self.keep))
        return True
