"""The ``peek`` commands plugins declare (``"commands"`` of ``plugin_package.json``).

Reading a declaration imports nothing: ``peek plugin-commands`` and ``peek --help`` list
commands from the JSON alone, and only the plugin whose command runs is imported.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from peek_platform.plugin.discovery import PLUGIN_PREFIXES, InstalledPlugin
from peek_platform.plugin.errors import PluginValidationError
from peek_platform.plugin.references import checkReference, importReference
from peek_plugin_base.PluginCommandABC import PluginCommandABC

#: The ``plugin_package.json`` key.
COMMANDS_KEY = "commands"

_COMMAND_NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


@dataclass(frozen=True)
class DeclaredCommand:
    """One command as declared: ``peek <shortName> <name>``."""

    pluginName: str
    shortName: str
    name: str
    help: str
    reference: str

    def load(self) -> PluginCommandABC:
        """Import the command's class and return an instance (``PluginValidationError``)."""
        key = f"{COMMANDS_KEY}.{self.name}.class"
        commandClass = importReference(self.pluginName, key, self.reference)
        if not (isinstance(commandClass, type) and issubclass(commandClass, PluginCommandABC)):
            raise PluginValidationError(
                self.pluginName,
                f'plugin_package.json "{key}" {self.reference!r} must name a subclass of '
                "peek_plugin_base.PluginCommandABC.PluginCommandABC",
            )
        return commandClass()


@dataclass(frozen=True)
class PluginCommands:
    """The commands of one installed plugin, or why they cannot be offered."""

    pluginName: str
    shortName: str
    commands: tuple[DeclaredCommand, ...]
    error: str | None = None


def shortPluginName(pluginName: str) -> str:
    """``noop`` for ``peek_plugin_noop`` (and ``peek_core_noop``): the ``peek`` command name."""
    for prefix in PLUGIN_PREFIXES:
        if pluginName.startswith(prefix):
            return pluginName[len(prefix) :]
    return pluginName


def declaredCommands(pluginName: str, packageJson: dict) -> tuple[DeclaredCommand, ...]:
    """The commands ``packageJson`` declares, in file order; ``PluginValidationError``."""
    section = packageJson.get(COMMANDS_KEY)
    if section is None:
        return ()
    example = (
        f'{{"import-items": {{"help": "import items from a CSV file", '
        f'"class": "{pluginName}._private.commands.ImportItems:ImportItems"}}}}'
    )

    def fail(message: str) -> PluginValidationError:
        return PluginValidationError(pluginName, f"plugin_package.json {message}")

    if not isinstance(section, dict):
        raise fail(f'"{COMMANDS_KEY}" must be an object like {example}')
    commands = []
    for name, entry in section.items():
        where = f'"{COMMANDS_KEY}.{name}"'
        if not _COMMAND_NAME_RE.fullmatch(name):
            raise fail(
                f"{where}: a command name is lowercase letters, digits and single dashes, "
                "starting with a letter"
            )
        if not isinstance(entry, dict):
            raise fail(f"{where} must be an object like {example}")
        extra = sorted(set(entry) - {"help", "class"})
        if extra:
            raise fail(f'{where} has unknown key(s) {extra}; only "help" and "class" are allowed')
        helpText = entry.get("help")
        if not isinstance(helpText, str) or not helpText.strip():
            raise fail(f"{where}.help must be a non-empty one-line string")
        checkReference(pluginName, f"{COMMANDS_KEY}.{name}.class", entry.get("class"))
        commands.append(
            DeclaredCommand(
                pluginName, shortPluginName(pluginName), name, helpText.strip(), entry["class"]
            )
        )
    return tuple(commands)


def findPluginCommands(
    plugins: list[InstalledPlugin], builtinCommands: Collection[str]
) -> list[PluginCommands]:
    """Every installed plugin declaring commands, by package name, with any error.

    A plugin whose short name is a built-in ``peek`` command or another plugin's short name
    gets an error instead of its commands: it can never shadow a command.
    """
    found: list[PluginCommands] = []
    taken: dict[str, str] = {}
    for plugin in plugins:
        shortName = shortPluginName(plugin.name)
        if plugin.metadata is None:
            continue  # ``peek plugin list`` reports unreadable metadata
        try:
            commands = declaredCommands(plugin.name, plugin.metadata.raw)
        except PluginValidationError as e:
            found.append(PluginCommands(plugin.name, shortName, (), str(e)))
            continue
        if not commands:
            continue
        error = None
        if shortName in builtinCommands:
            error = (
                f"{plugin.name}: its commands are not offered: 'peek {shortName}' is a "
                "built-in command"
            )
        elif shortName in taken:
            error = (
                f"{plugin.name}: its commands are not offered: 'peek {shortName}' already "
                f"runs the commands of {taken[shortName]}"
            )
        else:
            taken[shortName] = plugin.name
        found.append(PluginCommands(plugin.name, shortName, commands, error))
    return found
