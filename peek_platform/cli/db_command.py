"""``peek db``: show, upgrade, downgrade and create migrations with the logic service's config.

Plugin authors never edit an alembic.ini: the database URL comes from the logic home's
``config.json`` (``sqlalchemy.connectUrl``, empty = the embedded SQLite database).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from peek_platform.cli.base import EXIT_OK, CommandFailed, UsageError, setHandler
from peek_platform.config import ConfigError, loadServiceConfig
from peek_platform.plugin.discovery import packageDirectory
from peek_platform.plugin.errors import PluginError
from peek_platform.plugin.metadata import readPluginMetadata
from peek_platform.services import LOGIC
from peek_platform.storage.db_config import dbSettingsFromConfig
from peek_platform.storage.platform_schema import (
    PLATFORM_ALEMBIC_DIR,
    PLATFORM_SCHEMA,
    platformMetadata,
)
from peek_platform.storage.plugin_storage import PluginStorageError, pluginStorage
from peek_plugin_base.storage.DbConnection import DbConnection, MigrationError

#: The PLUGIN name that selects the platform's own schema.
PLATFORM_TARGET = "peek_platform"


@dataclass
class _Target:
    """One schema ``peek db`` works on: the platform's or a plugin's."""

    name: str
    db: DbConnection


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``peek db`` and its subcommands."""
    dbParser = subparsers.add_parser(
        "db",
        help="show and run database migrations of the platform and plugins",
        description="Database migrations of the logic service: the platform schema "
        f"({PLATFORM_SCHEMA}) and each plugin's schema. Uses the logic service's config.json "
        "(sqlalchemy.connectUrl). Exit status: 0 on success, 1 when a migration fails, 2 for "
        "an unknown plugin, a plugin without storage or an invalid config.",
    )
    commands = dbParser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    def addCommand(name: str, helpText: str, plugin: str | None) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=helpText, description=helpText)
        parser.add_argument(
            "--home",
            metavar="DIR",
            type=Path,
            default=None,
            help="the logic service's home holding config.json (default: "
            "$PEEK_HOME_ROOT/peek-logic-service.home, else ~/peek-logic-service.home)",
        )
        if plugin == "optional":
            parser.add_argument(
                "plugin",
                metavar="PLUGIN",
                nargs="?",
                help=f"one plugin package name, or {PLATFORM_TARGET} (default: the platform "
                "and every enabled plugin with storage)",
            )
        elif plugin == "required":
            parser.add_argument(
                "plugin",
                metavar="PLUGIN",
                help=f"the plugin package name, or {PLATFORM_TARGET}",
            )
        return parser

    current = addCommand("current", "print each schema's current and newest revision", "optional")
    setHandler(current, showCurrent)

    upgrade = addCommand("upgrade", "upgrade schemas to their newest revision", "optional")
    setHandler(upgrade, runUpgrade)

    downgrade = addCommand("downgrade", "downgrade one schema to REV", "required")
    downgrade.add_argument("revision", metavar="REV", help="target revision id, or 'base'")
    setHandler(downgrade, runDowngrade)

    revision = addCommand(
        "revision", "write a new revision script into a plugin's alembic dir", "required"
    )
    revision.add_argument("-m", "--message", required=True, help="what the revision does")
    revision.add_argument(
        "--autogenerate",
        action="store_true",
        help="fill the script by comparing the plugin's models with the database "
        "(the schema must be at its newest revision)",
    )
    setHandler(revision, makeRevision)


def _dbSettings(home: Path | None) -> tuple[str, dict[str, Any], list[str]]:
    """``(url, engineArgs, enabled plugin names)`` from the logic home's config."""
    home = (home or LOGIC.defaultHome()).expanduser().resolve()
    try:
        config = loadServiceConfig(LOGIC, home, writeBack=False)
    except ConfigError as e:
        raise UsageError(str(e)) from e
    return (*dbSettingsFromConfig(config, LOGIC, home), list(config["plugin.enabled"]))


def _pluginTarget(name: str, url: str, engineArgs: dict[str, Any]) -> _Target:
    """The target of plugin ``name``; ``UsageError`` when not installed or without storage."""
    target = _optionalPluginTarget(name, url, engineArgs)
    if target is None:
        raise UsageError(
            f"plugin {name} has no storage: its plugin_package.json has no "
            '"storage": {"alembicDir": ...} section'
        )
    return target


def _optionalPluginTarget(name: str, url: str, engineArgs: dict[str, Any]) -> _Target | None:
    """The target of plugin ``name``, ``None`` without storage; ``UsageError`` if not installed."""
    rootDir = packageDirectory(name)
    if rootDir is None:
        raise UsageError(f"unknown plugin {name!r}: no such package is installed")
    try:
        metadata = readPluginMetadata(name, rootDir)
        storage = pluginStorage(name, rootDir, metadata.raw)
    except (PluginError, PluginStorageError) as e:
        raise UsageError(str(e)) from e
    if storage is None:
        return None
    db = DbConnection(
        url,
        sa.MetaData(schema=storage.schema),
        str(storage.alembicDir),
        engineArgs,
        enableCreateAll=False,
    )
    return _Target(name, db)


def _targets(args: argparse.Namespace, *, allWhenMissing: bool) -> list[_Target]:
    url, engineArgs, enabled = _dbSettings(args.home)
    platform = _Target(
        PLATFORM_TARGET,
        DbConnection(
            url, platformMetadata, str(PLATFORM_ALEMBIC_DIR), engineArgs, enableCreateAll=False
        ),
    )
    name = getattr(args, "plugin", None)
    if name == PLATFORM_TARGET:
        return [platform]
    if name is not None:
        platform.db.dispose()
        return [_pluginTarget(name, url, engineArgs)]
    targets = [platform]
    for pluginName in enabled if allWhenMissing else ():
        target = _optionalPluginTarget(pluginName, url, engineArgs)
        if target is not None:
            targets.append(target)
    return targets


def _upgrade(targets: list[_Target]) -> None:
    """Migrate each target to head, printing where it ends; stop at the first failure."""
    try:
        for target in targets:
            try:
                target.db.migrate()
            except MigrationError as e:
                raise CommandFailed(f"{target.name}: {e}") from e
            print(f"{target.name}: {target.db.schema} at {_revText(target.db.currentRevisions())}")
    finally:
        for target in targets:
            target.db.dispose()


def _revText(revisions: tuple[str, ...]) -> str:
    return ",".join(revisions) or "(none)"


def showCurrent(args: argparse.Namespace) -> int:
    """Print ``NAME SCHEMA CURRENT HEAD STATE`` for each target."""
    targets = _targets(args, allWhenMissing=True)
    try:
        for target in targets:
            current, heads = target.db.currentRevisions(), target.db.headRevisions()
            state = "up to date" if set(current) == set(heads) else "needs upgrade"
            print(
                f"{target.name}\t{target.db.schema}\tcurrent={_revText(current)}\t"
                f"head={_revText(heads)}\t{state}"
            )
    finally:
        for target in targets:
            target.db.dispose()
    return EXIT_OK


def runUpgrade(args: argparse.Namespace) -> int:
    """Upgrade the platform and the selected plugins to their newest revisions."""
    _upgrade(_targets(args, allWhenMissing=True))
    return EXIT_OK


def runDowngrade(args: argparse.Namespace) -> int:
    """Downgrade one schema to the given revision."""
    [target] = _targets(args, allWhenMissing=False)
    try:
        target.db.downgrade(args.revision)
        print(f"{target.name}: {target.db.schema} at {_revText(target.db.currentRevisions())}")
    except MigrationError as e:
        raise CommandFailed(f"{target.name}: {e}") from e
    finally:
        target.db.dispose()
    return EXIT_OK


def makeRevision(args: argparse.Namespace) -> int:
    """Write a new revision script and print its path."""
    [target] = _targets(args, allWhenMissing=False)
    try:
        for path in target.db.revision(args.message, autogenerate=args.autogenerate):
            print(path)
    except MigrationError as e:
        raise CommandFailed(f"{target.name}: {e}") from e
    finally:
        target.db.dispose()
    return EXIT_OK
