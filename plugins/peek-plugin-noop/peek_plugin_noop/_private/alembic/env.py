"""Alembic environment of the noop plugin's schema, ``pl_noop``.

The logic service runs it to migrate the schema at start, and ``peek db revision
peek_plugin_noop -m MESSAGE --autogenerate`` runs it to write a new revision script.
"""

from peek_plugin_base.storage.AlembicEnvBase import AlembicEnvBase
from peek_plugin_noop._private.storage import DeclarativeBase

DeclarativeBase.loadStorageTuples()

AlembicEnvBase(DeclarativeBase.metadata).run()
