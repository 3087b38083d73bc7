"""Install, upgrade and uninstall hooks of a logic plugin (docs/plugins/install-hooks.rst).

A plugin names its subclass of :class:`PluginLogicInstallHooksABC` in
``plugin_package.json`` (``"logic": {"installHooks": "module:Class"}``). The logic service
runs ``install`` once per installation and each upgrade step once, after migrating the
plugin's schema and before ``load()``, in one database transaction with the platform's
record of the installed version: a failing hook changes nothing and fails the plugin.
"""

from __future__ import annotations

from abc import ABCMeta
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


class PluginInstallContext:
    """What a hook gets: a session in the install transaction and the versions involved.

    Use ``session`` for every database change and do not commit it: the platform commits
    once every hook of the step ran and the version is recorded, or rolls it all back.
    """

    def __init__(
        self,
        pluginName: str,
        session: Any,
        fromVersion: str | None,
        toVersion: str | None,
        storageDirectory: Path,
    ) -> None:
        #: The plugin's package name.
        self.pluginName = pluginName
        #: SQLAlchemy ``Session`` joined to the install transaction (plugin and platform
        #: schema on one connection).
        self.session = session
        #: The version the data is at; ``None`` for ``install``.
        self.fromVersion = fromVersion
        #: The version the data is brought to; ``None`` for ``uninstall``.
        self.toVersion = toVersion
        self._storageDirectory = storageDirectory

    @property
    def fileStorageDirectory(self) -> Path:
        """``<logic home>/plugin_data/<pluginName>``, created when first asked for."""
        self._storageDirectory.mkdir(parents=True, exist_ok=True)
        return self._storageDirectory


#: One upgrade step: brings the data from ``context.fromVersion`` to its target version.
UpgradeStep = Callable[[PluginInstallContext], None]


class PluginLogicInstallHooksABC(metaclass=ABCMeta):  # noqa: B024 - every hook is optional
    """Optional hooks around a plugin's data; override only those the plugin needs.

    * ``install`` runs when the platform has no record of the plugin (a fresh install, or a
      plugin installed before the platform kept records: tolerate existing data).
    * ``upgradeSteps`` maps target versions to steps; when the installed plugin is newer than
      the recorded version, each step above the recorded and at most the installed version
      runs, in version order. ``install`` covers the current version: no step runs after it.
    * ``uninstall`` runs from ``peek plugin uninstall-data NAME``; the record is then
      dropped, so the next start installs afresh.
    """

    def install(self, context: PluginInstallContext) -> None:
        """Seed the data of a fresh installation (reference data, first items)."""
        return None

    def upgradeSteps(self) -> Mapping[str, UpgradeStep]:
        """The upgrade steps by target version (PEP 440), e.g. ``{"0.2.0": self.to020}``."""
        return {}

    def uninstall(self, context: PluginInstallContext) -> None:
        """Remove what the plugin put outside its own tables (files, other systems)."""
        return None
