"""Import what a ``plugin_package.json`` names as ``"package.module:Attribute"``.

Install hooks and CLI commands are declared this way so the platform imports a plugin's
code only when it needs that piece (``peek plugin-commands`` imports nothing).
"""

from __future__ import annotations

import importlib
from typing import Any

from peek_platform.plugin.errors import PluginValidationError


def checkReference(pluginName: str, key: str, reference: Any) -> tuple[str, str]:
    """``(module, attribute)`` of ``reference``; ``PluginValidationError`` naming ``key``.

    The module must be inside the plugin's package, so a plugin can only name its own code.
    """
    example = f'"{pluginName}._private.logic.Thing:Thing"'
    if not isinstance(reference, str) or reference.count(":") != 1:
        raise PluginValidationError(
            pluginName,
            f'plugin_package.json "{key}" must be a string "module:Attribute" like {example}, '
            f"not {reference!r}",
        )
    module, attribute = reference.split(":")
    if not (module == pluginName or module.startswith(pluginName + ".")):
        raise PluginValidationError(
            pluginName,
            f'plugin_package.json "{key}" names module {module!r}, which is outside the plugin '
            f"package {pluginName}; use a module of the plugin like {example}",
        )
    if not attribute.isidentifier():
        raise PluginValidationError(
            pluginName, f'plugin_package.json "{key}": {attribute!r} is not a Python name'
        )
    return module, attribute


def importReference(pluginName: str, key: str, reference: Any) -> Any:
    """Import and return the object ``reference`` names (see :func:`checkReference`)."""
    moduleName, attribute = checkReference(pluginName, key, reference)
    try:
        module = importlib.import_module(moduleName)
    except Exception as e:
        raise PluginValidationError(
            pluginName,
            f'plugin_package.json "{key}": importing {moduleName} failed: {type(e).__name__}: {e}',
        ) from e
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise PluginValidationError(
            pluginName,
            f'plugin_package.json "{key}": module {moduleName} has no attribute {attribute!r}',
        ) from None
