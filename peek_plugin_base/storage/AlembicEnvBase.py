"""The body of a plugin's Alembic ``env.py``: ``AlembicEnvBase(DeclarativeBase.metadata).run()``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import CreateSchema

from peek_plugin_base.storage.PluginSchema import checkSchemaName

#: ``Config.attributes`` key under which the platform hands Alembic an open connection.
CONNECTION_ATTRIBUTE = "connection"


def isPostgreSQLDialect(engine: Engine | Connection) -> bool:
    """True when ``engine`` (or a connection) talks to PostgreSQL."""
    return engine.dialect.name == "postgresql"


#: Spelling used by the manual's index.
isPostGreSQLDialect = isPostgreSQLDialect


def isMssqlDialect(engine: Engine | Connection) -> bool:
    """True when ``engine`` (or a connection) talks to Microsoft SQL Server."""
    return engine.dialect.name == "mssql"


def isSqliteDialect(engine: Engine | Connection) -> bool:
    """True when ``engine`` (or a connection) talks to SQLite."""
    return engine.dialect.name == "sqlite"


def ensureSchemaExists(engine: Engine | Connection, schemaName: str) -> None:
    """Create ``schemaName`` if it is missing (on SQLite: check that it is attached).

    On SQLite a schema is an attached database file, attached by the engine when each
    connection opens; a missing one means the engine was not made by ``DbConnection``.
    """
    checkSchemaName(schemaName)
    if isinstance(engine, Engine):
        with engine.begin() as conn:
            ensureSchemaExists(conn, schemaName)
        return
    conn = engine
    if isSqliteDialect(conn):
        attached = {row[1] for row in conn.exec_driver_sql("PRAGMA database_list")}
        if schemaName not in attached:
            raise RuntimeError(
                f"SQLite schema {schemaName!r} is not attached to this connection; create the "
                "engine with peek_plugin_base.storage.DbConnection, which attaches "
                f"<database dir>/{schemaName}.sqlite to every connection"
            )
        return
    if isPostgreSQLDialect(conn):
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schemaName}"'))
        return
    if not inspect(conn).has_schema(schemaName):
        conn.execute(CreateSchema(schemaName))


class AlembicEnvBase:
    """Runs a plugin's migrations with its schema, version table and autogenerate filter.

    The plugin's ``env.py`` calls ``AlembicEnvBase(DeclarativeBase.metadata).run()``. The
    Alembic version table lives in the metadata's schema, autogenerate only compares that
    schema, and on SQLite autogenerate writes batch operations (SQLite cannot ALTER much).
    """

    def __init__(self, targetMetadata: MetaData) -> None:
        self._targetMetadata = targetMetadata
        self._schema = checkSchemaName(targetMetadata.schema)

    def run(self) -> None:
        """Run the migrations Alembic asked for, on the platform's connection when given."""
        from alembic import context

        if context.is_offline_mode():
            self._runOffline(context)
            return
        connection = context.config.attributes.get(CONNECTION_ATTRIBUTE)
        if connection is not None:
            self._runOnline(context, connection)
            return
        self._runStandalone(context)

    def _configureArgs(self, connection: Connection) -> dict[str, Any]:
        return dict(
            connection=connection,
            target_metadata=self._targetMetadata,
            version_table_schema=self._schema,
            include_schemas=True,
            include_name=self._includeName,
            transactional_ddl=True,
            render_as_batch=isSqliteDialect(connection),
            compare_type=True,
        )

    def _includeName(self, name: str | None, type_: str, parentNames: Any) -> bool:
        """Autogenerate filter: compare only this plugin's schema."""
        if type_ == "schema":
            return name == self._schema
        return True

    def _runOnline(self, context: Any, connection: Connection) -> None:
        context.configure(**self._configureArgs(connection))
        with context.begin_transaction():
            context.run_migrations()

    def _runStandalone(self, context: Any) -> None:
        """Plain ``alembic`` command line with an ini file: make our own engine."""
        from peek_plugin_base.storage.DbEngine import createDbEngine

        url = context.config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError(
                f"{context.config.config_file_name}: no sqlalchemy.url; use `peek db` "
                "commands, which take the URL from the logic service's config.json"
            )
        engine = createDbEngine(url, attachSchemas=[self._schema])
        try:
            with engine.connect() as connection, connection.begin():
                ensureSchemaExists(connection, self._schema)
                self._runOnline(context, connection)
        finally:
            engine.dispose()

    def _runOffline(self, context: Any) -> None:
        context.configure(
            url=context.config.get_main_option("sqlalchemy.url"),
            target_metadata=self._targetMetadata,
            version_table_schema=self._schema,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
