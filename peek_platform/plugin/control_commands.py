"""The ``plugin.enable``/``disable``/``restart`` service commands (docs/admin/plugin-control.rst).

Every service answers them through its ``ctx.commands`` table: the loader acts on the
running plugin, and enable and disable also record the choice in the service's own
``config.json`` (``plugin.enabled``), written atomically, so it survives a restart. A
config file with comments is never rewritten (the rewrite would drop them): the answer says
so and only the running state changes.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from peek_platform.config.config_file import hasComments, readConfigText, writeConfigFile
from peek_platform.config.errors import ConfigError
from peek_platform.plugin.errors import PluginControlError, PluginNotHereError
from peek_platform.plugin.loader import PluginLoader
from peek_platform.plugin.state import ControlOutcome
from peek_platform.process.commands import ServiceCommandError, ServiceCommands

logger = logging.getLogger(__name__)

#: The ``state`` answered by a service the plugin is not enabled on or does not run on.
ABSENT = "absent"
#: The runtime plugin actions, each a service command ``plugin.<action>``.
PLUGIN_ACTIONS: tuple[str, ...] = ("enable", "disable", "restart")


def recordEnabled(path: Path, pluginName: str, enabled: bool) -> str:
    """Add ``pluginName`` to (or remove it from) ``plugin.enabled`` in the config at ``path``;
    a sentence saying what happened to the file."""
    try:
        text = readConfigText(path)
        if hasComments(text):
            return (
                f"{path} has comments and was not rewritten: change plugin.enabled there by "
                f"hand to keep this after a restart"
            )
        document = json.loads(text)
    except (ConfigError, ValueError) as e:
        return f"{path} was not updated: {e}"
    plugin = document.setdefault("plugin", {})
    names = list(plugin.get("enabled", []))
    if (pluginName in names) == enabled:
        return f"{path} already says so"
    plugin["enabled"] = [*names, pluginName] if enabled else [n for n in names if n != pluginName]
    try:
        writeConfigFile(path, document)
    except OSError as e:
        return f"{path} was not updated: {e}"
    return f"{path} updated"


def outcomeDocument(outcome: ControlOutcome) -> dict[str, Any]:
    """A control outcome as the JSON document the command answers with."""
    return {
        "plugin": outcome.pluginName,
        "action": outcome.action,
        "changed": outcome.changed,
        "state": outcome.state.value,
        "reason": outcome.reason,
        "dependants": list(outcome.dependants),
        "seconds": round(outcome.seconds, 3),
    }


def notHereDocument(pluginName: str, action: str, why: str) -> dict[str, Any]:
    """The answer of a service the plugin does not run on: nothing to do here, not an error."""
    return {
        "plugin": pluginName,
        "action": action,
        "changed": False,
        "state": ABSENT,
        "reason": why,
        "dependants": [],
        "seconds": 0.0,
    }


class PluginControlCommands:
    """Answers ``plugin.<action>`` with ``{"plugin": NAME, "by": WHO}`` arguments."""

    def __init__(self, loader: PluginLoader, configPath: Path) -> None:
        self._loader = loader
        self._configPath = configPath

    def register(self, commands: ServiceCommands) -> None:
        """Add the three commands to ``commands``."""
        for action in PLUGIN_ACTIONS:
            commands.add(f"plugin.{action}", self._handler(action))

    def _handler(self, action: str) -> Any:
        def handle(args: dict[str, Any]) -> Deferred[dict[str, Any]]:
            return self.run(action, args)

        return handle

    def run(self, action: str, args: dict[str, Any]) -> Deferred[dict[str, Any]]:
        """Do ``action`` on the plugin named in ``args``; a Deferred of the answer."""
        name = args.get("plugin")
        if not isinstance(name, str) or not name:
            raise ServiceCommandError(f"plugin.{action} needs the plugin's package name")
        by = args.get("by")
        why = f"disabled by {by}" if isinstance(by, str) and by else "disabled"
        logger.info("%s: %s asked by %s", name, action, by or "an operator")
        if action == "enable":
            d = self._loader.enablePlugin(name)
        elif action == "disable":
            d = self._loader.disablePlugin(name, why)
        else:
            d = self._loader.restartPlugin(name)

        def answer(outcome: ControlOutcome) -> dict[str, Any]:
            document = outcomeDocument(outcome)
            if action != "restart":
                document["config"] = recordEnabled(self._configPath, name, action == "enable")
            return document

        def refused(failure: Failure) -> Failure | dict[str, Any]:
            if failure.check(PluginNotHereError):
                return notHereDocument(name, action, failure.getErrorMessage())
            if failure.check(PluginControlError):
                raise ServiceCommandError(str(failure.value))
            return failure

        return d.addCallbacks(answer, refused)
