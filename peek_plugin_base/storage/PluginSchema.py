"""Names of plugin schemas: ``pl_<name>`` for ``peek_plugin_<name>``, ``core_<name>`` for cores."""

from __future__ import annotations

import re

_PREFIXES = (("peek_plugin_", "pl_"), ("peek_core_", "core_"))
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


class SchemaNameError(ValueError):
    """A plugin or schema name cannot be turned into a valid schema name."""


def schemaNameForPlugin(pluginName: str) -> str:
    """Return the schema a plugin owns, e.g. ``pl_tutorial`` for ``peek_plugin_tutorial``."""
    for packagePrefix, schemaPrefix in _PREFIXES:
        if pluginName.startswith(packagePrefix) and len(pluginName) > len(packagePrefix):
            return checkSchemaName(schemaPrefix + pluginName[len(packagePrefix) :])
    raise SchemaNameError(
        f"plugin {pluginName!r}: a plugin with storage must be named peek_plugin_<name> "
        "(schema pl_<name>) or peek_core_<name> (schema core_<name>)"
    )


def checkSchemaName(schemaName: str | None) -> str:
    """Return ``schemaName`` if it is a lower-case SQL identifier; raise ``SchemaNameError``."""
    if not schemaName or not _IDENTIFIER.match(schemaName):
        raise SchemaNameError(
            f"schema name {schemaName!r} is not valid: use lower-case letters, digits and "
            "underscores, starting with a letter or underscore"
        )
    return schemaName
