"""Find the plugin packages installed in this environment without importing them."""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import importlib.util
import pkgutil
from dataclasses import dataclass
from pathlib import Path

from peek_platform.plugin.errors import PluginError
from peek_platform.plugin.metadata import PluginMetadata, readPluginMetadata

#: Top-level package name prefixes that mark a Peek plugin.
PLUGIN_PREFIXES = ("peek_plugin_", "peek_core_")

#: Packages of the platform itself that share a plugin prefix.
NOT_PLUGINS = frozenset({"peek_plugin_base"})


@dataclass
class InstalledPlugin:
    """One installed plugin package; ``error`` says why its metadata could not be read."""

    name: str
    rootDir: Path | None
    metadata: PluginMetadata | None
    error: str | None


def isPluginName(name: str) -> bool:
    """True for top-level package names the platform treats as plugins."""
    return name.startswith(PLUGIN_PREFIXES) and name not in NOT_PLUGINS


def findInstalledPlugins(searchPath: list[str] | None = None) -> list[InstalledPlugin]:
    """List top-level ``peek_plugin_*``/``peek_core_*`` packages on ``searchPath``, by name.

    ``None`` searches ``sys.path`` and also the top-level packages of installed
    distributions, which finds editable installs served by an import hook rather than a
    path entry. Packages are located, never imported; when a name appears twice the first
    one on the path wins, as for import.
    """
    found: dict[str, InstalledPlugin] = {}
    for info in pkgutil.iter_modules(searchPath):
        if info.ispkg and isPluginName(info.name) and info.name not in found:
            spec = info.module_finder.find_spec(info.name, None)
            found[info.name] = _describe(info.name, spec)
    if searchPath is None:
        for name in importlib.metadata.packages_distributions():
            if isPluginName(name) and name not in found:
                found[name] = _describe(name, importlib.util.find_spec(name))
    return [found[name] for name in sorted(found)]


def packageDirectory(name: str) -> Path | None:
    """The directory of the installed package ``name``, found without importing it; None
    when no package of that name is installed (or the name is no identifier)."""
    spec = importlib.util.find_spec(name) if name.isidentifier() else None
    return _packageDirOf(spec)


def _packageDirOf(spec: importlib.machinery.ModuleSpec | None) -> Path | None:
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else None


def _describe(name: str, spec: importlib.machinery.ModuleSpec | None) -> InstalledPlugin:
    """Locate the package directory and read its metadata, recording any error."""
    rootDir = _packageDirOf(spec)
    if rootDir is None:
        return InstalledPlugin(name, None, None, f"{name}: package directory not found")
    try:
        metadata = readPluginMetadata(name, rootDir)
    except PluginError as e:
        return InstalledPlugin(name, rootDir, None, str(e))
    return InstalledPlugin(name, rootDir, metadata, None)
