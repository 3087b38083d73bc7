"""Plugin schema names and the dialect helpers of AlembicEnvBase."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from peek_plugin_base.storage.AlembicEnvBase import (
    AlembicEnvBase,
    ensureSchemaExists,
    isMssqlDialect,
    isPostgreSQLDialect,
)
from peek_plugin_base.storage.DbEngine import createDbEngine
from peek_plugin_base.storage.PluginSchema import SchemaNameError, schemaNameForPlugin


@pytest.mark.parametrize(
    ("plugin", "schema"),
    [("peek_plugin_tutorial", "pl_tutorial"), ("peek_core_device", "core_device")],
)
def test_schemaNameForPlugin(plugin, schema):
    """peek_plugin_<name> owns pl_<name>; peek_core_<name> owns core_<name>."""
    assert schemaNameForPlugin(plugin) == schema


@pytest.mark.parametrize("plugin", ["my_plugin", "peek_plugin_", "peek_plugin_Bad-Name"])
def test_schemaNameRefusesOtherNames(plugin):
    """A name that does not give a lower-case identifier schema is refused."""
    with pytest.raises(SchemaNameError):
        schemaNameForPlugin(plugin)


def test_alembicEnvNeedsSchemaMetadata():
    """AlembicEnvBase refuses metadata without a schema."""
    with pytest.raises(SchemaNameError):
        AlembicEnvBase(sa.MetaData())


def test_ensureSchemaExistsIsIdempotent(dbUrl):
    """ensureSchemaExists creates the schema once and accepts it the second time."""
    engine = createDbEngine(dbUrl, attachSchemas=["pl_made"])
    ensureSchemaExists(engine, "pl_made")
    ensureSchemaExists(engine, "pl_made")
    assert "pl_made" in sa.inspect(engine).get_schema_names()
    assert isPostgreSQLDialect(engine) == (engine.dialect.name == "postgresql")
    assert not isMssqlDialect(engine)
    engine.dispose()


def test_ensureSchemaExistsRefusesUnattachedSqlite(tmp_path):
    """On SQLite a schema that the engine did not attach is an error explaining DbConnection."""
    engine = createDbEngine(f"sqlite:///{tmp_path / 'peek.sqlite'}")
    with pytest.raises(RuntimeError, match="DbConnection"):
        ensureSchemaExists(engine, "pl_missing")
    engine.dispose()
