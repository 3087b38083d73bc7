"""The SQLAlchemy declarative base of the noop plugin's tables, in its own schema ``pl_noop``.

Every table class of the plugin inherits ``DeclarativeBase``; the platform migrates the
schema named by ``metadata`` (see ``storage.alembicDir`` in plugin_package.json).
"""

from sqlalchemy.orm import declarative_base
from sqlalchemy.schema import MetaData

#: All tables of this plugin live in the schema ``pl_noop`` (``pl_<name>`` for a plugin).
metadata = MetaData(schema="pl_noop")

DeclarativeBase = declarative_base(metadata=metadata)


def loadStorageTuples() -> None:
    """Import every table module, so each table is on ``metadata`` and each tuple registered.

    Call it from ``load()`` on every service that sends or receives these tuples, and from
    the Alembic ``env.py``, which compares the tables with the database.
    """
    from peek_plugin_noop._private.storage import AppliedAction, NoopItem  # noqa: F401
