"""``peek plugin-commands`` and ``peek <plugin> <command>``: the commands plugins add.

Plugins declare commands in ``plugin_package.json`` (``peek_platform.plugin.commands``).
Every ``peek`` run lists them from the JSON alone; only the plugin named on the command
line is imported, to add its commands' arguments and run one. A command runs against the
logic home's database: ``PluginData.prepare`` migrates the schemas and runs pending install
hooks first, as logic does before ``load()``.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from peek_platform.cli.base import EXIT_FAILURE, EXIT_OK, CommandFailed, UsageError, setHandler
from peek_platform.cli.plugin_install_command import PluginData, addHomeArgument
from peek_platform.plugin.commands import DeclaredCommand, PluginCommands, findPluginCommands
from peek_platform.plugin.discovery import findInstalledPlugins
from peek_platform.plugin.errors import PluginError
from peek_plugin_base.PluginCommandABC import (
    PluginCommandABC,
    PluginCommandContextABC,
    PluginCommandError,
)

#: The listing command's name.
LIST_COMMAND = "plugin-commands"

_TABLE_HEADER = ("PLUGIN", "COMMAND", "HELP")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``peek plugin-commands``."""
    parser = subparsers.add_parser(
        LIST_COMMAND,
        help="list the commands installed plugins add to peek",
        description="List the commands each installed plugin declares in its "
        "plugin_package.json, run as 'peek PLUGIN COMMAND' (PLUGIN is the short name, "
        "'noop' for peek_plugin_noop), with their one-line help. No plugin is imported. "
        "Exit status: 0, or 1 when a plugin's declaration is invalid or its name collides "
        "with a built-in command or another plugin.",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON array of objects")
    setHandler(parser, listPluginCommands)


def _pluginCommands(builtinCommands: Sequence[str]) -> list[PluginCommands]:
    return findPluginCommands(findInstalledPlugins(), builtinCommands)


def registerPlugins(subparsers: argparse._SubParsersAction, selected: str | None) -> None:
    """Add ``peek <plugin>`` for each plugin with commands, after every built-in command.

    Only the plugin named ``selected`` (the first word of the command line) is imported,
    to add its commands' arguments; the others get their declared one-line help only.
    Nothing is looked up when ``selected`` is a built-in command.
    """
    builtins = list(subparsers.choices)
    listParser = subparsers.choices.get(LIST_COMMAND)
    if listParser is not None:
        listParser.set_defaults(builtinCommands=builtins)
    if selected in builtins and selected != LIST_COMMAND:
        return  # a built-in command runs: finding the plugins would only cost time
    for plugin in _pluginCommands(builtins):
        if plugin.error is not None:
            continue
        names = ", ".join(command.name for command in plugin.commands)
        pluginParser = subparsers.add_parser(
            plugin.shortName,
            help=f"commands of plugin {plugin.pluginName}: {names}",
            description=f"Commands of plugin {plugin.pluginName}, run against the logic "
            "service's database (--home). Run 'peek "
            f"{plugin.shortName} COMMAND --help' for each command's options.",
        )
        commands = pluginParser.add_subparsers(title="commands", metavar="COMMAND", required=True)
        for declared in plugin.commands:
            parser = commands.add_parser(
                declared.name, help=declared.help, description=declared.help
            )
            addHomeArgument(parser)
            if plugin.shortName == selected:
                _addCommand(parser, declared)


def _addCommand(parser: argparse.ArgumentParser, declared: DeclaredCommand) -> None:
    """Import the command, let it add its arguments and make it the parser's handler."""
    try:
        command = declared.load()
    except PluginError as e:
        message = str(e)

        def failed(args: argparse.Namespace) -> int:
            raise CommandFailed(f"{declared.shortName} {declared.name}: {message}")

        parser.description = f"{declared.help} (cannot be loaded: {message})"
        setHandler(parser, failed)
        return
    description = command.description or type(command).__doc__
    if description:
        parser.description = " ".join(description.split())
    command.addArguments(parser)
    setHandler(parser, _runner(declared, command))


def _runner(declared: DeclaredCommand, command: PluginCommandABC) -> Callable[..., int]:
    def run(args: argparse.Namespace) -> int:
        return runPluginCommand(declared, command, args)

    return run


class PluginCommandContext(PluginCommandContextABC):
    """The context of a running plugin command, over a prepared :class:`PluginData`."""

    def __init__(self, data: PluginData) -> None:
        self._data = data

    @property
    def pluginName(self) -> str:
        """The plugin's package name."""
        return self._data.pluginName

    @property
    def home(self) -> Path:
        """The logic home."""
        return self._data.home

    def configValue(self, dottedKey: str) -> Any:
        """A value of logic's config (``KeyError`` naming the key when logic has none)."""
        return self._data.config[dottedKey]

    def _db(self) -> Any:
        if self._data.db is None:
            raise RuntimeError(
                f"plugin {self.pluginName} has no storage: its plugin_package.json has no "
                '"storage" section'
            )
        return self._data.db

    @property
    def dbEngine(self) -> Any:
        """The engine of the plugin's schema."""
        return self._db().dbEngine

    @property
    def dbSessionCreator(self) -> Callable[[], Any]:
        """New ORM sessions of the plugin's schema."""
        return self._db().ormSessionCreator

    @property
    def fileStorageDirectory(self) -> Path:
        """``<home>/plugin_data/<pluginName>``, created when first asked for."""
        path = self._data.fileStorageDirectory
        path.mkdir(parents=True, exist_ok=True)
        return path


def runPluginCommand(
    declared: DeclaredCommand, command: PluginCommandABC, args: argparse.Namespace
) -> int:
    """Prepare the plugin's data from ``--home``, run the command and return its status."""
    data = PluginData.open(args.home, declared.pluginName)
    try:
        data.prepare()
        try:
            code = command.run(args, PluginCommandContext(data))
        except PluginCommandError as e:
            raise CommandFailed(f"{declared.shortName} {declared.name}: {e}") from e
        except (CommandFailed, UsageError):
            raise
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            raise CommandFailed(
                f"{declared.shortName} {declared.name} failed: {type(e).__name__}: {e}"
            ) from e
    finally:
        data.dispose()
    return EXIT_OK if code is None else int(code)


def listPluginCommands(args: argparse.Namespace) -> int:
    """Print every plugin command as a table or JSON; 1 when any plugin has an error."""
    plugins = _pluginCommands(args.builtinCommands)
    rows: list[dict[str, Any]] = []
    for plugin in plugins:
        if plugin.error is not None:
            rows.append(_row(plugin, None))
        rows.extend(_row(plugin, command) for command in plugin.commands if not plugin.error)
    if args.json:
        print(json.dumps(rows, indent=2))
    elif rows:
        table = [_TABLE_HEADER] + [
            (row["plugin"], row["command"] or "-", row["help"] or f"ERROR: {row['error']}")
            for row in rows
        ]
        widths = [max(len(line[column]) for line in table) for column in range(2)]
        for line in table:
            print("  ".join([line[0].ljust(widths[0]), line[1].ljust(widths[1]), line[2]]))
    else:
        print("No installed plugin adds peek commands.")
    return EXIT_FAILURE if any(plugin.error for plugin in plugins) else EXIT_OK


def _row(plugin: PluginCommands, command: DeclaredCommand | None) -> dict[str, Any]:
    """One command (or, with ``None``, the plugin's error) as a JSON object."""
    return {
        "plugin": plugin.shortName,
        "package": plugin.pluginName,
        "command": command.name if command else None,
        "help": command.help if command else None,
        "error": plugin.error,
    }
