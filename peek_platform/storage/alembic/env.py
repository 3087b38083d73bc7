"""Alembic environment of the ``peek_platform`` schema."""

from peek_platform.storage.platform_schema import platformMetadata
from peek_plugin_base.storage.AlembicEnvBase import AlembicEnvBase

AlembicEnvBase(platformMetadata).run()
