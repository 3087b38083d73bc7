"""Find the plugin packages installed in this environment without importing them."""

from __future__ import annotations

import pkgutil
from dataclasses import dataclass
from pathlib import Path

from peek_platform.plugin.errors import PluginError
from peek_platform.plugin.metadata import PluginMetadata, readPluginMetadata

#: Top-level package name prefixes that mark a Peek plugin.
PLUGIN_PREFIXES = ("peek_plugin_", "peek_core_")


@dataclass
class InstalledPlugin:
    """One installed plugin package; ``error`` says why its metadata could not be read."""

    name: str
    rootDir: Path | None
    metadata: PluginMetadata | None
    error: str | None


def isPluginName(name: str) -> bool:
    """True for top-level package names the platform treats as plugins."""
    return name.startswith(PLUGIN_PREFIXES)


def findInstalledPlugins(searchPath: list[str] | None = None) -> list[InstalledPlugin]:
    """List top-level ``peek_plugin_*``/``peek_core_*`` packages on ``searchPath``, by name.

    ``None`` searches ``sys.path``. Packages are located with ``pkgutil.iter_modules`` and
    never imported; when a name appears twice the first one on the path wins, as for import.
    """
    found: dict[str, InstalledPlugin] = {}
    for info in pkgutil.iter_modules(searchPath):
        if not info.ispkg or not isPluginName(info.name) or info.name in found:
            continue
        found[info.name] = _describe(info)
    return [found[name] for name in sorted(found)]


def _describe(info: pkgutil.ModuleInfo) -> InstalledPlugin:
    """Locate the package directory and read its metadata, recording any error."""
    spec = info.module_finder.find_spec(info.name, None)  # type: ignore[call-arg]
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        return InstalledPlugin(info.name, None, None, f"{info.name}: package directory not found")
    rootDir = Path(locations[0])
    try:
        metadata = readPluginMetadata(info.name, rootDir)
    except PluginError as e:
        return InstalledPlugin(info.name, rootDir, None, str(e))
    return InstalledPlugin(info.name, rootDir, metadata, None)
