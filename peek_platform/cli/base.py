"""Exit codes and errors shared by every ``peek`` subcommand."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from peek_platform.exit_codes import EXIT_CONFIG_ERROR as EXIT_USAGE
from peek_platform.exit_codes import EXIT_FAILURE, EXIT_OK

__all__ = ["EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE"]

#: A subcommand handler: gets the parsed arguments, returns the exit code.
Handler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """Bad arguments or configuration: ``peek`` prints the message and exits with 2."""


class CommandFailed(Exception):
    """The command could not do its work: ``peek`` prints the message and exits with 1."""


def setHandler(parser: argparse.ArgumentParser, handler: Handler) -> None:
    """Make ``handler`` run when ``parser``'s command is chosen."""
    parser.set_defaults(handler=handler)
