"""``peek plugin enable|disable|restart NAME``: act on one plugin in the running platform.

The request goes to logic (:mod:`peek_platform.cli.logic_link`), which runs the service
command ``plugin.<action>`` on itself and on every linked service, or on ``--service``'s
only; each service answers for itself (docs/admin/plugin-control.rst).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from peek_platform.cli.base import EXIT_FAILURE, EXIT_OK, CommandFailed, UsageError, setHandler
from peek_platform.cli.logic_link import addLogicLinkArguments, logicLinkFromArgs, runOnPlatform
from peek_platform.cli.logic_link import runOnce as runOnReactor
from peek_platform.plugin.control_commands import ABSENT
from peek_platform.scaffold.names import PluginNameError, PluginNaming
from peek_platform.services import SERVICES_BY_KEY

#: What each action does, for the help text.
_ACTIONS = {
    "enable": "load and start NAME, with the plugins disabled because of it, and add it to "
    "each service's plugin.enabled",
    "disable": "stop and unload NAME (the plugins that require it first) and remove it from "
    "each service's plugin.enabled",
    "restart": "stop and unload NAME and its dependants, import its code afresh, and load and "
    "start them again",
}
#: Seconds the services get by default: a restart may migrate a schema.
_DEFAULT_TIMEOUT = 60.0


def registerControl(commands: argparse._SubParsersAction) -> None:
    """Add ``enable``, ``disable`` and ``restart`` under ``peek plugin``."""
    for action, what in _ACTIONS.items():
        parser = commands.add_parser(
            action,
            help=f"{action} one plugin in the running platform, without restarting services",
            description=f"Ask the running logic service to {what}, on every service that runs "
            "it or only on --service. The services keep running. Each service answers for "
            "itself; a service NAME does not run on says so and is not an error. Exit status: "
            "0 when every service that runs NAME did it, 1 when any refused or did not answer, "
            "no service runs NAME, or logic cannot be reached; 2 for invalid arguments.",
        )
        parser.add_argument(
            "name",
            metavar="NAME",
            help="the plugin: its short name ('noop') or package name ('peek_plugin_noop')",
        )
        parser.add_argument(
            "--service",
            choices=sorted(SERVICES_BY_KEY),
            help="act on this kind of service only (default: every linked service)",
        )
        parser.add_argument("--json", action="store_true", help="print the answers as JSON")
        addLogicLinkArguments(parser, timeout=_DEFAULT_TIMEOUT)
        parser.set_defaults(action=action)
        setHandler(parser, controlPlugin)


def controlPlugin(args: argparse.Namespace) -> int:
    """Send the action to logic and print each service's answer."""
    try:
        pluginName = PluginNaming.fromArgument(args.name).packageName
    except PluginNameError as e:
        raise UsageError(str(e)) from None
    link = logicLinkFromArgs(args)
    answers = runOnReactor(
        lambda reactor: runOnPlatform(
            link,
            f"plugin.{args.action}",
            {"plugin": pluginName, "by": "peek plugin " + args.action},
            reactor=reactor,
            service=args.service,
            timeout=args.timeout,
        )
    )
    if not answers:
        where = f"no {args.service} service is" if args.service else "no service is"
        raise CommandFailed(f"{where} linked to logic at {link.url}; nothing was done")
    if args.json:
        print(json.dumps(answers, indent=2))
    else:
        for answer in answers:
            print(formatAnswer(answer))
    if all(a["ok"] and a["result"]["state"] == ABSENT for a in answers):
        print(f"{pluginName} does not run on any of these services; nothing was done")
        return EXIT_FAILURE
    return EXIT_OK if all(a["ok"] for a in answers) else EXIT_FAILURE


def formatAnswer(answer: dict[str, Any]) -> str:
    """One service's answer as one or two lines."""
    where = answer["service"]
    if answer.get("host"):
        where += f" ({answer['host']} pid {answer['pid']})"
    if not answer["ok"]:
        return f"{where}: refused: {answer['error']}"
    result = answer["result"]
    action, state = result["action"], result["state"]
    if state == ABSENT:
        return f"{where}: nothing to do, {result['reason']}"
    if not result["changed"]:
        line = f"{where}: {result['plugin']} was already {state}, nothing to {action}"
    else:
        line = (
            f"{where}: {action} {result['plugin']}: now {state} ({result['seconds'] * 1000:.0f} ms)"
        )
    if result["dependants"]:
        line += f"; also {'stopped' if action == 'disable' else 'restarted'}: "
        line += ", ".join(result["dependants"])
    if result.get("reason") and state not in ("started", "disabled"):
        line += f"\n    reason: {result['reason']}"
    if result.get("config"):
        line += f"\n    config: {result['config']}"
    return line
