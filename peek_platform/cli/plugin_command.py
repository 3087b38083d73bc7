"""``peek plugin``: list the installed plugins, create new plugin projects, and enable,
disable or restart a plugin in the running platform."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from peek_platform.cli.base import EXIT_FAILURE, EXIT_OK, CommandFailed, UsageError, setHandler
from peek_platform.cli.plugin_control_command import registerControl
from peek_platform.cli.plugin_install_command import registerUninstall
from peek_platform.cli.plugin_package_command import registerInstall
from peek_platform.plugin.discovery import InstalledPlugin, findInstalledPlugins
from peek_platform.scaffold.generator import (
    TEMPLATE_NAMING,
    ProjectExistsError,
    ScaffoldError,
    createPluginProject,
)
from peek_platform.scaffold.names import PluginNameError, PluginNaming
from peek_platform.services import LOGIC

_TABLE_HEADER = ("NAME", "VERSION", "SERVICES", "TITLE")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``peek plugin`` and its subcommands."""
    pluginParser = subparsers.add_parser(
        "plugin",
        help="list, create, enable, disable or restart plugins",
        description="List the Peek plugins installed in this environment, create a new "
        "plugin project, or enable, disable or restart a plugin in the running platform.",
    )
    commands = pluginParser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    listParser = commands.add_parser(
        "list",
        help="list the installed plugins",
        description="List the peek_plugin_* and peek_core_* packages installed in this "
        "environment with their version, the services they require and their title, read "
        "from each plugin_package.json without importing the plugin. A plugin whose "
        "plugin_package.json cannot be read is listed with the error. Exit status: 0, or 1 "
        "when any plugin has an error.",
    )
    listParser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON array of objects instead of a table",
    )
    setHandler(listParser, listPlugins)

    newParser = commands.add_parser(
        "new",
        help="create a new plugin project from the noop plugin",
        description="Create a new plugin project, a copy of the noop plugin with every "
        "spelling of its name replaced: 'peek plugin new my_thing' writes the project "
        "directory peek-plugin-my-thing holding the package peek_plugin_my_thing. Nothing "
        "is written when the directory already exists. Exit status: 0 when created, 2 for "
        "an invalid NAME or an existing directory, 1 for other failures.",
    )
    newParser.add_argument(
        "name",
        metavar="NAME",
        help="the plugin's name: a short name such as 'tutorial' (package "
        "peek_plugin_tutorial) or a full package name peek_plugin_NAME or peek_core_NAME; "
        "lowercase letters, digits and underscores (dashes count as underscores), starting "
        "with a letter",
    )
    newParser.add_argument(
        "--dir",
        metavar="DIR",
        type=Path,
        default=Path("."),
        help="the existing directory to create the project directory in (default: the "
        "current directory)",
    )
    setHandler(newParser, newPlugin)
    registerControl(commands)
    registerUninstall(commands)
    registerInstall(commands)


def listPlugins(args: argparse.Namespace) -> int:
    """Print the installed plugins as a table or JSON; 1 when any has an error."""
    plugins = findInstalledPlugins()
    if args.json:
        print(json.dumps([_pluginAsJson(plugin) for plugin in plugins], indent=2))
    elif plugins:
        _printTable([_pluginRow(plugin) for plugin in plugins])
    else:
        print("No Peek plugins are installed in this environment.")
    return EXIT_FAILURE if any(plugin.error for plugin in plugins) else EXIT_OK


def _pluginAsJson(plugin: InstalledPlugin) -> dict:
    """One plugin as a JSON object; metadata fields are null when it could not be read."""
    metadata = plugin.metadata
    return {
        "name": plugin.name,
        "version": metadata.version if metadata else None,
        "requiresServices": list(metadata.requiresServices) if metadata else None,
        "requiresPlugins": list(metadata.requiresPlugins) if metadata else None,
        "peekPlatformVersion": metadata.peekPlatformVersion if metadata else None,
        "title": metadata.title if metadata else None,
        "rootDir": str(plugin.rootDir) if plugin.rootDir else None,
        "error": plugin.error,
    }


def _pluginRow(plugin: InstalledPlugin) -> tuple[str, ...]:
    """One table row; the title column carries the error for an unreadable plugin."""
    metadata = plugin.metadata
    if metadata is None:
        return (plugin.name, "-", "-", f"ERROR: {plugin.error}")
    services = ",".join(metadata.requiresServices) or "-"
    return (plugin.name, metadata.version, services, metadata.title)


def _printTable(rows: list[tuple[str, ...]]) -> None:
    """Print ``rows`` under ``_TABLE_HEADER`` with every column left-aligned."""
    table = [_TABLE_HEADER, *rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(_TABLE_HEADER) - 1)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]))


def newPlugin(args: argparse.Namespace) -> int:
    """Create the project for NAME under ``--dir`` and print what to do next."""
    try:
        naming = PluginNaming.fromArgument(args.name)
    except PluginNameError as e:
        raise UsageError(str(e)) from e
    if naming.packageName == TEMPLATE_NAMING.packageName:
        raise UsageError(f"{naming.packageName} is the template plugin itself; choose a new name")
    parentDir: Path = args.dir
    if not parentDir.is_dir():
        raise UsageError(f"--dir {str(parentDir)!r} is not an existing directory; create it first")
    try:
        projectDir, files = createPluginProject(naming, parentDir.resolve())
    except ProjectExistsError as e:
        raise UsageError(str(e)) from e
    except (ScaffoldError, OSError) as e:
        raise CommandFailed(f"cannot create the plugin project: {e}") from e

    print(f"Created plugin {naming.packageName} in {projectDir}:")
    for relPath in files:
        print(f"  {relPath}")
    print()
    print("Next steps:")
    print(f"  1. Install it where the Peek services run:  pip install -e {projectDir}")
    print(
        f'  2. Add "{naming.packageName}" to "plugin.enabled" in each service\'s config.json '
        f"(e.g. {LOGIC.defaultHome() / 'config.json'})"
    )
    print("  3. Restart the services; each logs Loaded and Started for the plugin.")
    return EXIT_OK
