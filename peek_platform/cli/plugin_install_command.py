"""``peek plugin uninstall-data NAME``, and the plugin data setup ``peek <plugin> ...`` shares.

Both work on the logic home's database (``--home``): the platform schema and the plugin's
schema are migrated to their newest revision and the plugin's pending install or upgrade
hooks run (``peek_platform.storage.plugin_install``), as logic does before ``load()``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from peek_platform.cli.base import EXIT_OK, CommandFailed, UsageError, setHandler
from peek_platform.config import ConfigError, ServiceConfig, loadServiceConfig
from peek_platform.platform_hook import PLUGIN_DATA_DIR
from peek_platform.plugin.discovery import packageDirectory
from peek_platform.plugin.errors import PluginError
from peek_platform.plugin.metadata import PluginMetadata, readPluginMetadata
from peek_platform.scaffold.names import PluginNameError, PluginNaming
from peek_platform.services import LOGIC
from peek_platform.storage.db_config import dbSettingsFromConfig
from peek_platform.storage.platform_schema import PLATFORM_ALEMBIC_DIR, platformMetadata
from peek_platform.storage.plugin_install import (
    PluginInstallError,
    installDbConnection,
    loadInstallHooks,
    runInstallSteps,
    runUninstall,
)
from peek_platform.storage.plugin_storage import (
    PluginStorage,
    PluginStorageError,
    pluginStorage,
)
from peek_plugin_base.storage.DbConnection import DbConnection, MigrationError


def _notReactorThread() -> bool:
    """``peek`` runs no reactor: database work on its main thread is expected."""
    return False


def addHomeArgument(parser: argparse.ArgumentParser) -> None:
    """``--home DIR``: the logic home whose config.json names the database."""
    parser.add_argument(
        "--home",
        metavar="DIR",
        type=Path,
        default=None,
        help="the logic service's home holding config.json (default: "
        "$PEEK_HOME_ROOT/peek-logic-service.home, else ~/peek-logic-service.home)",
    )


@dataclass
class PluginData:
    """One plugin's database and files as seen from the logic home, for a ``peek`` command."""

    pluginName: str
    home: Path
    config: ServiceConfig
    metadata: PluginMetadata
    url: str
    engineArgs: dict[str, Any]
    storage: PluginStorage | None
    hooks: Any
    #: The plugin schema's connection (after ``prepare``); ``None`` without storage.
    db: DbConnection | None = None

    @classmethod
    def open(cls, home: Path | None, pluginName: str, rootDir: Path | None = None) -> PluginData:
        """Read logic's config and the plugin's declarations; ``UsageError`` when wrong."""
        home = (home or LOGIC.defaultHome()).expanduser().resolve()
        try:
            config = loadServiceConfig(LOGIC, home, writeBack=False)
        except ConfigError as e:
            raise UsageError(str(e)) from e
        if rootDir is None:
            rootDir = packageDirectory(pluginName)
            if rootDir is None:
                raise UsageError(f"unknown plugin {pluginName!r}: no such package is installed")
        try:
            metadata = readPluginMetadata(pluginName, rootDir)
            storage = pluginStorage(pluginName, rootDir, metadata.raw)
            hooks = loadInstallHooks(pluginName, metadata.raw)
        except (PluginError, PluginStorageError) as e:
            raise UsageError(str(e)) from e
        url, engineArgs = dbSettingsFromConfig(config, LOGIC, home)
        return cls(pluginName, home, config, metadata, url, engineArgs, storage, hooks)

    @property
    def fileStorageDirectory(self) -> Path:
        """``<home>/plugin_data/<pluginName>``, as the running plugin sees it."""
        return self.home / PLUGIN_DATA_DIR / self.pluginName

    def _newConnection(self, metadata: Any, alembicDir: Path | str) -> DbConnection:
        return DbConnection(
            self.url,
            metadata,
            str(alembicDir),
            self.engineArgs,
            enableCreateAll=False,
            isReactorThread=_notReactorThread,
        )

    def migrate(self) -> None:
        """Bring the platform schema and the plugin's to their newest revision."""
        platform = self._newConnection(platformMetadata, PLATFORM_ALEMBIC_DIR)
        try:
            platform.migrate()
            if self.storage is not None:
                self.db = self._newConnection(
                    sa.MetaData(schema=self.storage.schema), self.storage.alembicDir
                )
                self.db.migrate()
        except MigrationError as e:
            raise CommandFailed(f"{self.pluginName}: {e}") from e
        finally:
            platform.dispose()

    def _installConnection(self) -> DbConnection:
        return installDbConnection(
            self.url, self.engineArgs, self.storage, isReactorThread=_notReactorThread
        )

    def prepare(self) -> None:
        """Migrate, then run the pending install or upgrade hooks, as logic does."""
        self.migrate()
        db = self._installConnection()
        try:
            runInstallSteps(
                db, self.pluginName, self.metadata.version, self.hooks, self.fileStorageDirectory
            )
        except PluginInstallError as e:
            raise CommandFailed(str(e)) from e
        finally:
            db.dispose()

    def uninstall(self) -> str:
        """Run the ``uninstall`` hook and drop the install record; the version removed."""
        self.migrate()
        db = self._installConnection()
        try:
            return runUninstall(db, self.pluginName, self.hooks, self.fileStorageDirectory)
        except PluginInstallError as e:
            raise CommandFailed(str(e)) from e
        finally:
            db.dispose()

    def dispose(self) -> None:
        """Close the plugin schema's connection."""
        if self.db is not None:
            self.db.dispose()
            self.db = None


def registerUninstall(commands: argparse._SubParsersAction) -> None:
    """Add ``uninstall-data`` under ``peek plugin``."""
    parser = commands.add_parser(
        "uninstall-data",
        help="run a plugin's uninstall hook and forget its installed data version",
        description="Run the plugin's uninstall hook (declared as logic.installHooks) in one "
        "transaction that also deletes the platform's record of its installed data version, "
        "so the next start of logic runs its install hook again. The plugin's tables stay; "
        "'peek db downgrade NAME base' drops them. Disable the plugin first (or stop logic). "
        "Exit status: 0 when done, 1 when the hook fails (nothing is changed) or the plugin "
        "is not installed, 2 for an unknown plugin or an invalid config.",
    )
    parser.add_argument(
        "name",
        metavar="NAME",
        help="the plugin: its short name ('noop') or package name ('peek_plugin_noop')",
    )
    addHomeArgument(parser)
    setHandler(parser, uninstallData)


def uninstallData(args: argparse.Namespace) -> int:
    """Uninstall NAME's data and print the version it was at."""
    try:
        pluginName = PluginNaming.fromArgument(args.name).packageName
    except PluginNameError as e:
        raise UsageError(str(e)) from e
    data = PluginData.open(args.home, pluginName)
    try:
        version = data.uninstall()
    finally:
        data.dispose()
    print(f"{pluginName}: uninstalled its data (was at version {version})")
    return EXIT_OK
