"""The platform's own schema ``peek_platform``: tables the platform (not a plugin) owns.

Plugin settings, the local users and roles of ``peek_platform.identity``, the
enrolled devices (browsers) of the field and office sites, the installed data version
of each plugin with the install and upgrade hooks that ran, and the queue and compiled
chunks of the plugins' chunked indexes (``peek_platform.bulk``).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    true,
)

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

#: Local users. ``password_hash`` is an argon2 PHC string; NULL means no local password.
userTable = Table(
    "user",
    platformMetadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=True),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("created", DateTime(timezone=True), nullable=False),
)

#: Roles: named sets of permissions.
roleTable = Table(
    "role",
    platformMetadata,
    Column("name", String(64), primary_key=True),
    Column("description", Text, nullable=False, server_default=""),
)

#: The permissions each role grants (names as declared by the platform and plugins).
rolePermissionTable = Table(
    "role_permission",
    platformMetadata,
    Column(
        "role",
        String(64),
        ForeignKey("role.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("permission", String(200), primary_key=True),
)

#: The roles each local user holds.
userRoleTable = Table(
    "user_role",
    platformMetadata,
    Column(
        "user_id",
        Integer,
        ForeignKey("user.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "role",
        String(64),
        ForeignKey("role.name", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

#: Browsers enrolled on the field and office sites (``peek_platform.identity.devices``).
#: ``token_hash`` is the SHA-256 of the random token the browser keeps in a cookie.
deviceTable = Table(
    "device",
    platformMetadata,
    Column("id", String(32), primary_key=True),
    Column("site", String(32), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("description", String(200), nullable=False, server_default=""),
    Column("last_user_id", String(300), nullable=True),
    Column("last_user_name", String(256), nullable=True),
    Column("enrolled", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
)

#: The data version of each installed plugin, as its install or upgrade hooks left it
#: (``peek_platform.storage.plugin_install``). No row: the plugin is not installed yet.
pluginInstallTable = Table(
    "plugin_install",
    platformMetadata,
    Column("plugin_name", String(100), primary_key=True),
    Column("version", String(64), nullable=False),
    Column("installed", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
)

#: Every install, upgrade and uninstall hook that ran, in the order they ran.
pluginInstallStepTable = Table(
    "plugin_install_step",
    platformMetadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plugin_name", String(100), nullable=False, index=True),
    Column("step", String(16), nullable=False),
    Column("from_version", String(64), nullable=True),
    Column("to_version", String(64), nullable=True),
    Column("done", DateTime(timezone=True), nullable=False),
)

#: Changed rows of chunked indexes waiting to be compiled (``peek_platform.bulk``): one row
#: per key, so a key queued again before compiling keeps its newest value (``row_json``;
#: NULL deletes the row) and a higher ``version``.
bulkQueueTable = Table(
    "bulk_queue",
    platformMetadata,
    Column("plugin_name", String(100), primary_key=True),
    Column("index_name", String(100), primary_key=True),
    Column("row_key", String(1000), primary_key=True),
    Column("bucket", String(100), nullable=False),
    Column("row_json", Text, nullable=True),
    Column("version", BigInteger, nullable=False),
)

#: Compiled chunks: the HTTP body devices get (encoded once) and its content hash.
bulkChunkTable = Table(
    "bulk_chunk",
    platformMetadata,
    Column("plugin_name", String(100), primary_key=True),
    Column("index_name", String(100), primary_key=True),
    Column("bucket", String(100), primary_key=True),
    Column("hash", String(64), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("row_count", Integer, nullable=False),
)
