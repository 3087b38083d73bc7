"""Sphinx directive ``command-help``: a command's real ``--help`` output, run at build time.

``.. command-help:: peek config check`` runs ``peek config check --help`` and includes what
it prints as a literal block, so the documented options are always the real ones. A command
that is missing or fails is a build error, never a silently empty section. The first
directive of a build runs every documented console script's ``--help`` in one interpreter,
so the platform's imports are paid once rather than per command.

The command runs in an empty temporary directory, without ``PEEK_HOME_ROOT`` and with
``HOME=/home/peek`` (the manual's example user), so defaults derived from the home directory
do not show the home of whoever builds the docs.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import site
import subprocess
import sys
import tempfile
from importlib.metadata import entry_points
from pathlib import Path
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


# Runs many console-script entry points' ``--help`` in one interpreter (imports are paid once):
# reads a JSON list of argv lists on stdin, prints a JSON list of [exit status, stdout, stderr].
_BATCH_BOOTSTRAP = """\
import contextlib, io, json, sys
from importlib.metadata import entry_points
results = []
for argv in json.load(sys.stdin):
    entryPoint = next(iter(entry_points(group="console_scripts", name=argv[0])))
    sys.argv = list(argv)
    out, err = io.StringIO(), io.StringIO()
    status = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            returned = entryPoint.load()()
            status = returned if isinstance(returned, int) else 0
        except SystemExit as exit:
            status = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    results.append([status, out.getvalue(), err.getvalue()])
sys.stdout.write(json.dumps(results))
"""

#: The ``command-help`` lines of a reST source.
_DIRECTIVE_LINE = re.compile(r"^\.\. command-help::\s+(.+?)\s*$", re.MULTILINE)


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


def _helpEnvironment() -> dict[str, str]:
    """The environment a documented ``--help`` runs in (see the module docstring)."""
    env = {key: value for key, value in os.environ.items() if key != HOME_ROOT_ENV}
    # Keep packages installed with "pip install --user" importable under the changed HOME.
    env.setdefault("PYTHONUSERBASE", site.getuserbase())
    env.update(COLUMNS=HELP_COLUMNS, HOME=DOCUMENTED_HOME)
    return env


def _run(command: str, argv: list[str], timeoutSeconds: float, stdin: str | None = None) -> str:
    """Run ``argv`` for ``command`` in an empty directory; its stdout, or CommandHelpError."""
    try:
        with tempfile.TemporaryDirectory(prefix="command-help-") as workDir:
            result = subprocess.run(
                argv,
                cwd=workDir,
                input=stdin,
                stdin=subprocess.DEVNULL if stdin is None else None,
                capture_output=True,
                text=True,
                env=_helpEnvironment(),
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
    return result.stdout


def _checkedText(command: str, status: int, out: str, err: str) -> str:
    """The help ``command`` printed; CommandHelpError when it failed or printed nothing."""
    if status != 0:
        raise CommandHelpError(
            f"'{command} --help' exited with status {status}:\n{err.strip() or out.strip()}"
        )
    text = out.strip("\n")
    if not text:
        raise CommandHelpError(f"'{command} --help' printed nothing on stdout")
    return text


def commandHelpText(command: str, timeoutSeconds: float = 60.0) -> str:
    """Run ``<command> --help`` and return its output; raise CommandHelpError if it fails."""
    out = _run(command, helpArgv(command), timeoutSeconds)
    return _checkedText(command, 0, out, "")


def consoleScriptHelpTexts(commands: list[str], timeoutSeconds: float = 120.0) -> dict[str, str]:
    """``--help`` of each console-script command in ``commands``, all in one interpreter;
    a command that fails is left out (its directive then runs it alone and reports why)."""
    scripts = [
        c
        for c in dict.fromkeys(commands)
        if c.split() and any(True for _ in entry_points(group="console_scripts", name=c.split()[0]))
    ]
    if not scripts:
        return {}
    argvs = [[*shlex.split(c), "--help"] for c in scripts]
    out = _run(
        "(batch)", [sys.executable, "-c", _BATCH_BOOTSTRAP], timeoutSeconds, json.dumps(argvs)
    )
    texts = {}
    for command, (status, stdout, stderr) in zip(scripts, json.loads(out), strict=True):
        try:
            texts[command] = _checkedText(command, status, stdout, stderr)
        except CommandHelpError:
            continue
    return texts


def documentedCommands(sourceDir: Path) -> list[str]:
    """Every command a ``command-help`` directive in the reST files under ``sourceDir`` names."""
    commands = []
    for path in sorted(sourceDir.rglob("*.rst")):
        for match in _DIRECTIVE_LINE.finditer(path.read_text(encoding="utf-8")):
            commands.append(" ".join(match.group(1).split()))
    return commands


class CommandHelpDirective(SphinxDirective):
    """Include ``<command> --help`` output as a literal block."""

    required_arguments = 1
    final_argument_whitespace = True
    has_content = False

    def run(self) -> list[nodes.Node]:
        """Run the command and return its help as a literal block; failures are errors."""
        command = " ".join(self.arguments[0].split())
        app = self.env.app
        cache = getattr(app, "_peekCommandHelp", None)
        if cache is None:
            cache = app._peekCommandHelp = consoleScriptHelpTexts(
                documentedCommands(Path(app.srcdir))
            )
        try:
            text = cache.get(command) or commandHelpText(command)
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
