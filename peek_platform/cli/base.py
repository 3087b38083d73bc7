"""Exit codes and errors shared by every ``peek`` subcommand."""

from __future__ import annotations

import argparse
from collections.abc import Callable

#: The command did what was asked.
EXIT_OK = 0
#: Something failed that is not the caller's input (I/O, a broken install, ...).
EXIT_FAILURE = 1
#: The arguments or a config file are wrong; the message says what to change.
EXIT_USAGE = 2

#: A subcommand handler: gets the parsed arguments, returns the exit code.
Handler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """Bad arguments or configuration: ``peek`` prints the message and exits with 2."""


class CommandFailed(Exception):
    """The command could not do its work: ``peek`` prints the message and exits with 1."""


def setHandler(parser: argparse.ArgumentParser, handler: Handler) -> None:
    """Make ``handler`` run when ``parser``'s command is chosen."""
    parser.set_defaults(handler=handler)
