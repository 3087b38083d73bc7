"""``peek deploy systemd``: write systemd units that run the Peek services on this host.

One ``peek-<service>.service`` unit per service of ``peek_platform.services`` (never a list
of its own), a ``peek.target`` that starts them all, and the ``peek.env`` environment file
the units read. Each unit restarts its service on failure and starts after the network is
online; every service but logic also starts after (and pulls in) the logic unit, which the
others link to. See ``docs/admin/deploying.rst``.
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from peek_platform import __version__
from peek_platform.cli.base import EXIT_OK, CommandFailed, UsageError, setHandler
from peek_platform.config.config_file import writeTextAtomically
from peek_platform.exit_codes import EXIT_CONFIG_ERROR
from peek_platform.services import ALL_SERVICES, HOME_ROOT_ENV, LOGIC, ServiceSpec, homeRoot

#: Name of the unit that groups every service unit.
TARGET_NAME = "peek.target"
#: Name of the environment file the units read.
ENV_FILE_NAME = "peek.env"
#: The systemd unit that is reached once the network is configured.
NETWORK_ONLINE = "network-online.target"
#: Seconds systemd waits before restarting a failed service.
RESTART_SECONDS = 5
#: A user name systemd accepts in ``User=``: a POSIX-ish name or a numeric UID.
_USER_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|[0-9]+")


def unitName(spec: ServiceSpec) -> str:
    """The systemd unit of a service, e.g. ``peek-logic.service``."""
    return f"peek-{spec.key}.service"


def userArgument(text: str) -> str:
    """``--user``: a user name or numeric UID, without whitespace; argparse reports errors."""
    if not text:
        raise argparse.ArgumentTypeError("the user name is empty")
    if any(ch.isspace() for ch in text):
        raise argparse.ArgumentTypeError(f"user name {text!r} contains whitespace")
    if not _USER_PATTERN.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"user name {text!r} is not valid: use letters, digits, '_', '.' and '-', not "
            "starting with a digit or '-', at most 32 characters (or a numeric UID)"
        )
    return text


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``peek deploy`` and its ``systemd`` subcommand."""
    deployParser = subparsers.add_parser(
        "deploy",
        help="write the files that run the services under a service manager",
        description="Write deployment files for this installation. See the admin guide, "
        "'Deploying'.",
    )
    commands = deployParser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    services = ", ".join(unitName(spec) for spec in ALL_SERVICES)
    systemdParser = commands.add_parser(
        "systemd",
        help="write systemd units for the services and a peek.target grouping them",
        description=f"Write one systemd unit per service ({services}), a {TARGET_NAME} that "
        f"starts them all, and the environment file {ENV_FILE_NAME} they read. Each unit runs "
        "the service's command from this Python environment with its home under the home "
        f"root, restarts it on failure and starts it after {NETWORK_ONLINE}; the services "
        f"other than logic also start after {unitName(LOGIC)}. Files are written atomically; "
        "an existing file with different content is refused unless --force is given. "
        "Exit status: 0 on success, 2 on bad arguments, 1 when a file cannot be written.",
        epilog=f"Then copy the *.service and {TARGET_NAME} files to /etc/systemd/system, "
        f"run 'systemctl daemon-reload' and 'systemctl enable --now {TARGET_NAME}'. The units "
        f"read {ENV_FILE_NAME} from the output directory: keep it there.",
    )
    systemdParser.add_argument(
        "--user",
        metavar="USER",
        type=userArgument,
        default=None,
        help="the user the services run as (User=); default: systemd's default, root",
    )
    systemdParser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        default=Path("."),
        help="directory to write the files to, created when missing (default: the current "
        "directory)",
    )
    systemdParser.add_argument(
        "--home-root",
        metavar="DIR",
        type=Path,
        default=None,
        help=f"directory holding the service homes (default: ${HOME_ROOT_ENV} when set, else "
        "the home directory of --user when given, else your home directory)",
    )
    systemdParser.add_argument(
        "--force",
        action="store_true",
        help="overwrite existing files whose content differs",
    )
    setHandler(systemdParser, writeSystemdUnits)


def consoleScriptPath(name: str) -> Path:
    """Absolute path of console script ``name`` of this environment (beside the interpreter)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside.absolute()
    found = shutil.which(name)
    if found is None:
        raise CommandFailed(
            f"the console script {name} is not installed in this environment "
            f"(looked beside {sys.executable} and on PATH); install the platform first"
        )
    return Path(found).absolute()


def quoteUnitWord(text: str) -> str:
    """``text`` as one word of a unit setting: specifiers and variables escaped, quoted."""
    escaped = text.replace("%", "%%").replace("$", "$$")
    if re.search(r"[\s\"'\\;]", escaped):
        escaped = '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return escaped


def quoteEnvValue(text: str) -> str:
    """``text`` as a value in an environment file, double quoted when it needs to be."""
    if re.fullmatch(r"[A-Za-z0-9_./@:+-]*", text):
        return text
    return '"' + re.sub(r'(["\\$`])', r"\\\1", text) + '"'


@dataclass(frozen=True)
class DeployFile:
    """One file the command writes: its name in the output directory and its text."""

    name: str
    text: str


def _header() -> str:
    return (
        f"# Written by 'peek deploy systemd' (Peek {__version__}).\n"
        "# Rerun the command rather than editing this file, or use 'systemctl edit'.\n"
    )


def serviceUnit(
    spec: ServiceSpec, *, root: Path, envFile: Path, user: str | None, execPath: Path
) -> str:
    """The text of ``spec``'s systemd unit."""
    after = [NETWORK_ONLINE]
    if spec is not LOGIC:
        after.append(unitName(LOGIC))
    lines = [
        _header(),
        "[Unit]",
        f"Description=Peek {spec.key} service ({spec.vortexName})",
        f"After={' '.join(after)}",
        f"Wants={' '.join(after)}",
        f"PartOf={TARGET_NAME}",
        "",
        "[Service]",
        "Type=simple",
    ]
    if user is not None:
        lines.append(f"User={user}")
    home = root / spec.homeDirName
    lines += [
        # EnvironmentFile= takes the rest of the line as the path: no quotes.
        f"EnvironmentFile=-{str(envFile).replace('%', '%%')}",
        f"ExecStart={quoteUnitWord(str(execPath))} --home {quoteUnitWord(str(home))}",
        "Restart=on-failure",
        f"RestartSec={RESTART_SECONDS}",
        "# An invalid config.json: restarting will not fix it.",
        f"RestartPreventExitStatus={EXIT_CONFIG_ERROR}",
        "",
        "[Install]",
        f"WantedBy={TARGET_NAME}",
        "",
    ]
    return "\n".join(lines)


def targetUnit(specs: Sequence[ServiceSpec]) -> str:
    """The text of ``peek.target``, which pulls in every service unit."""
    units = " ".join(unitName(spec) for spec in specs)
    return "\n".join(
        [
            _header(),
            "[Unit]",
            "Description=Peek platform (every Peek service on this host)",
            f"Wants={NETWORK_ONLINE} {units}",
            f"After={NETWORK_ONLINE}",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )


def environmentFile(root: Path) -> str:
    """The text of ``peek.env``: the environment every service runs with."""
    return "\n".join(
        [
            _header(),
            "# The directory holding the service homes (peek-<service>-service.home).",
            f"{HOME_ROOT_ENV}={quoteEnvValue(str(root))}",
            "# Log lines reach the journal as they are written.",
            "PYTHONUNBUFFERED=1",
            "",
        ]
    )


def deployFiles(
    *,
    root: Path,
    envFile: Path,
    user: str | None,
    specs: Sequence[ServiceSpec] = ALL_SERVICES,
    scripts: Mapping[str, Path] | None = None,
) -> list[DeployFile]:
    """Every file ``peek deploy systemd`` writes, units first, then ``peek.env``."""
    files = [
        DeployFile(
            unitName(spec),
            serviceUnit(
                spec,
                root=root,
                envFile=envFile,
                user=user,
                execPath=(scripts or {}).get(spec.key) or consoleScriptPath(spec.command),
            ),
        )
        for spec in specs
    ]
    files.append(DeployFile(TARGET_NAME, targetUnit(specs)))
    files.append(DeployFile(ENV_FILE_NAME, environmentFile(root)))
    return files


def _defaultHomeRoot(user: str | None) -> Path:
    if os.environ.get(HOME_ROOT_ENV) or user is None:
        return homeRoot()
    try:
        entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
    except KeyError:
        raise UsageError(
            f"user {user!r} does not exist on this host, so its home directory is unknown; "
            "pass --home-root DIR"
        ) from None
    return Path(entry.pw_dir)


def writeSystemdUnits(args: argparse.Namespace) -> int:
    """``peek deploy systemd``: write the units, target and environment file."""
    root = args.home_root if args.home_root is not None else _defaultHomeRoot(args.user)
    root = Path(os.path.abspath(root.expanduser()))
    out = Path(os.path.abspath(args.out.expanduser()))
    for option, path in (("--home-root", root), ("--out", out)):
        if any(ch in str(path) for ch in "\n\r"):
            raise UsageError(f"{option} {str(path)!r} contains a line break")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is not a directory")
    files = deployFiles(root=root, envFile=out / ENV_FILE_NAME, user=args.user)

    unchanged: set[str] = set()
    conflicts: list[Path] = []
    for file in files:
        path = out / file.name
        if not path.exists():
            continue
        try:
            current = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise CommandFailed(f"cannot read existing {path}: {e}") from e
        if current == file.text:
            unchanged.add(file.name)
        elif not args.force:
            conflicts.append(path)
    if conflicts:
        names = ", ".join(str(path) for path in conflicts)
        exists = "it exists" if len(conflicts) == 1 else "they exist"
        raise CommandFailed(
            f"not overwriting {names}: {exists} with different content; pass --force to "
            "replace them (nothing was written)"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        for file in files:
            path = out / file.name
            if file.name in unchanged:
                print(f"unchanged {path}")
                continue
            writeTextAtomically(path, file.text, mode=0o644)
            print(f"wrote {path}")
    except OSError as e:
        raise CommandFailed(f"cannot write to {out}: {e}") from e
    print(
        f"Next: copy the *.service and {TARGET_NAME} files to /etc/systemd/system, then run "
        f"'systemctl daemon-reload' and 'systemctl enable --now {TARGET_NAME}'."
    )
    return EXIT_OK
