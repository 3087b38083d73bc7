"""The platform's own schema ``peek_platform``: tables the platform (not a plugin) owns."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Column, MetaData, String, Table, Text

#: Schema of the platform's tables.
PLATFORM_SCHEMA = "peek_platform"

#: Alembic directory of the platform schema's migrations.
PLATFORM_ALEMBIC_DIR = Path(__file__).parent / "alembic"

platformMetadata = MetaData(schema=PLATFORM_SCHEMA)

#: Current values of plugin settings, JSON encoded; a missing row means "the default".
pluginSettingTable = Table(
    "plugin_setting",
    platformMetadata,
    Column("plugin_name", String(100), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("value_json", Text, nullable=False),
)
