"""Entry point of the ``peek`` admin command: builds the parser from the command modules.

Each top-level command lives in its own module with a ``register(subparsers)`` function;
add a new command by writing such a module and listing it in ``COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from peek_platform import __version__
from peek_platform.cli import (
    config_command,
    db_command,
    deploy_command,
    diagnostics_command,
    plugin_command,
    plugin_commands_command,
    role_command,
    status_command,
    user_command,
)
from peek_platform.cli.base import EXIT_FAILURE, EXIT_USAGE, CommandFailed, UsageError

#: The modules that each add one top-level command, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[ModuleType, ...] = (
    config_command,
    plugin_command,
    db_command,
    status_command,
    diagnostics_command,
    user_command,
    role_command,
    deploy_command,
    plugin_commands_command,
)


def buildParser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``peek`` argument parser with every registered command, then plugins' commands.

    Plugins' commands come last, so a plugin can never replace a built-in command; only the
    plugin named first in ``argv`` is imported to add its commands' arguments.
    """
    parser = argparse.ArgumentParser(
        prog="peek",
        description="Administer a Peek platform installation. Run 'peek COMMAND --help' "
        "for the options of each command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    selected = next((arg for arg in argv or () if not arg.startswith("-")), None)
    plugin_commands_command.registerPlugins(subparsers, selected)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``peek`` with ``argv`` (default: the process arguments); return the exit code."""
    if argv is None:
        argv = sys.argv[1:]
    parser = buildParser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        # argparse exits 0 after --help/--version and 2 on bad arguments.
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    try:
        return args.handler(args)
    except UsageError as e:
        print(f"peek: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except CommandFailed as e:
        print(f"peek: {e}", file=sys.stderr)
        return EXIT_FAILURE
