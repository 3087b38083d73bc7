"""What storage a plugin declares: its schema and Alembic directory, checked against its code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peek_plugin_base.storage.DbConnection import absoluteAlembicDir
from peek_plugin_base.storage.PluginSchema import SchemaNameError, schemaNameForPlugin


class PluginStorageError(Exception):
    """A plugin's storage declaration or metadata is wrong; the message names the plugin."""

    def __init__(self, pluginName: str, message: str) -> None:
        self.pluginName = pluginName
        super().__init__(f"plugin {pluginName}: {message}")


@dataclass(frozen=True)
class PluginStorage:
    """The schema a plugin owns and the Alembic directory that migrates it."""

    pluginName: str
    schema: str
    alembicDir: Path


def pluginStorage(pluginName: str, rootDir: Path, packageJson: dict) -> PluginStorage | None:
    """Read ``storage.alembicDir`` of a plugin_package.json; ``None`` when it has no storage."""
    section = packageJson.get("storage")
    if section is None:
        if "storage" in packageJson.get("requiresServices", ()):
            raise PluginStorageError(
                pluginName,
                'plugin_package.json requires "storage" but has no "storage" section; add '
                '"storage": {"alembicDir": "_private/alembic"}',
            )
        return None
    alembicDir = section.get("alembicDir") if isinstance(section, dict) else None
    if not isinstance(alembicDir, str) or not alembicDir:
        raise PluginStorageError(
            pluginName,
            'plugin_package.json "storage.alembicDir" must be the Alembic directory relative '
            'to the plugin package, e.g. "_private/alembic"',
        )
    path = absoluteAlembicDir(rootDir, alembicDir)
    if not (path / "env.py").is_file():
        raise PluginStorageError(
            pluginName, f'"storage.alembicDir" is {alembicDir!r} but {path}/env.py does not exist'
        )
    try:
        schema = schemaNameForPlugin(pluginName)
    except SchemaNameError as e:
        raise PluginStorageError(pluginName, str(e)) from None
    return PluginStorage(pluginName, schema, path)


def checkMetadataSchema(storage: PluginStorage, metadata: Any) -> None:
    """Refuse a plugin whose ``dbMetadata`` is not bound to the plugin's own schema."""
    actual = getattr(metadata, "schema", None)
    if actual != storage.schema:
        raise PluginStorageError(
            storage.pluginName,
            f"dbMetadata.schema is {actual!r} but this plugin's schema must be "
            f"{storage.schema!r}; declare MetaData(schema={storage.schema!r})",
        )
