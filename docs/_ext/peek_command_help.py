"""Sphinx directive ``command-help``: a command's real ``--help`` output, run at build time.

``.. command-help:: peek config check`` runs ``peek config check --help`` and includes what
it prints as a literal block, so the documented options are always the real ones. A command
that is missing or fails is a build error, never a silently empty section.

The command runs in an empty temporary directory, without ``PEEK_HOME_ROOT`` and with
``HOME=/home/peek`` (the manual's example user), so defaults derived from the home directory
do not show the home of whoever builds the docs.
"""

from __future__ import annotations

import os
import shlex
import shutil
import site
import subprocess
import sys
import tempfile
from importlib.metadata import entry_points
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

#: Terminal width argparse wraps the help text to, so the output does not depend on the
#: terminal of whoever builds the docs.
HELP_COLUMNS = "100"

#: The home directory the documented commands see (it need not exist).
DOCUMENTED_HOME = "/home/peek"

#: Environment variable that moves every service home; unset while running ``--help``.
HOME_ROOT_ENV = "PEEK_HOME_ROOT"

# Runs a console-script entry point in a fresh interpreter with sys.argv[0] set to the script
# name, exactly as the installed wrapper script does.
_ENTRY_POINT_BOOTSTRAP = """\
import sys
from importlib.metadata import entry_points
name = sys.argv[1]
entryPoint = next(iter(entry_points(group="console_scripts", name=name)))
sys.argv = [name, *sys.argv[2:]]
sys.exit(entryPoint.load()())
"""


class CommandHelpError(Exception):
    """The command is not installed, or its ``--help`` failed."""


def helpArgv(command: str) -> list[str]:
    """The argv that prints ``command``'s help: its console script run by this interpreter.

    A console script of an installed distribution runs with ``sys.executable``, so the docs
    show the code Sphinx itself can import; any other program is looked up on ``PATH``.
    """
    words = shlex.split(command)
    if not words:
        raise CommandHelpError("command-help needs a command name")
    name, args = words[0], words[1:]
    if any(True for _ in entry_points(group="console_scripts", name=name)):
        return [sys.executable, "-c", _ENTRY_POINT_BOOTSTRAP, name, *args, "--help"]
    program = shutil.which(name)
    if program is None:
        raise CommandHelpError(
            f"command {name!r} not found: it is neither a console script of an installed "
            "distribution nor a program on PATH; install the project (pip install -e .) "
            "before building the docs"
        )
    return [program, *args, "--help"]


def commandHelpText(command: str, timeoutSeconds: float = 60.0) -> str:
    """Run ``<command> --help`` and return its output; raise CommandHelpError if it fails."""
    argv = helpArgv(command)
    env = {key: value for key, value in os.environ.items() if key != HOME_ROOT_ENV}
    # Keep packages installed with "pip install --user" importable under the changed HOME.
    env.setdefault("PYTHONUSERBASE", site.getuserbase())
    env.update(COLUMNS=HELP_COLUMNS, HOME=DOCUMENTED_HOME)
    try:
        with tempfile.TemporaryDirectory(prefix="command-help-") as workDir:
            result = subprocess.run(
                argv,
                cwd=workDir,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                env=env,
                timeout=timeoutSeconds,
                check=False,
            )
    except subprocess.TimeoutExpired as error:
        raise CommandHelpError(
            f"'{command} --help' did not finish within {timeoutSeconds:g} s"
        ) from error
    if result.returncode != 0:
        raise CommandHelpError(
            f"'{command} --help' exited with status {result.returncode}:\n"
            f"{result.stderr.strip() or result.stdout.strip()}"
        )
    text = result.stdout.strip("\n")
    if not text:
        raise CommandHelpError(f"'{command} --help' printed nothing on stdout")
    return text


class CommandHelpDirective(SphinxDirective):
    """Include ``<command> --help`` output as a literal block."""

    required_arguments = 1
    final_argument_whitespace = True
    has_content = False

    def run(self) -> list[nodes.Node]:
        """Run the command and return its help as a literal block; failures are errors."""
        command = " ".join(self.arguments[0].split())
        try:
            text = commandHelpText(command)
        except CommandHelpError as error:
            raise self.error(f"command-help: {error}") from error
        shown = f"$ {command} --help\n{text}"
        block = nodes.literal_block(shown, shown, language="text", classes=["command-help"])
        self.set_source_info(block)
        return [block]


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the ``command-help`` directive."""
    app.add_directive("command-help", CommandHelpDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
