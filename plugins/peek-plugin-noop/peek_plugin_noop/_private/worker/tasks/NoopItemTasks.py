"""Celery tasks of the noop plugin: they run in the worker service and use its database.

A task may run more than once (a killed worker's task runs again), so it writes by key:
running it twice leaves the table as running it once does. Arguments and results are
plain JSON values (no tuples, no ORM objects).
"""

from peek_plugin_base.worker import CeleryDbConn
from peek_plugin_base.worker.CeleryApp import celeryApp
from peek_plugin_noop._private.storage.NoopItem import NoopItemTuple


@celeryApp.task(bind=True)
def upsertNoopItem(self, name: str, value: int) -> dict:
    """Set the value of the item called ``name``, creating it if needed; return the row."""
    # The session of this task; the platform closes it (rolling back what was not
    # committed) when the task ends.
    session = CeleryDbConn.getDbSession()
    row = session.query(NoopItemTuple).filter(NoopItemTuple.name == name).one_or_none()
    if row is None:
        row = NoopItemTuple(name=name, value=value)
        session.add(row)
    else:
        row.value = value
        # A service made this change, not a user (see NoopItemTuple.lastChangedBy).
        row.lastChangedBy = None
    # One commit at the end: a run killed half way leaves nothing behind.
    session.commit()
    return {"id": row.id, "name": row.name, "value": row.value}
