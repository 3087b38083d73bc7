"""``peek config``: inspect the services' ``config.json`` files without starting anything."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from peek_platform.cli.base import EXIT_OK, EXIT_USAGE, UsageError, setHandler
from peek_platform.config import CONFIG_FILE_NAME, ConfigError, loadServiceConfig
from peek_platform.services import ALL_SERVICES, ServiceSpec, serviceByKey

#: The SERVICE argument that checks every service in its default home.
ALL = "all"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``peek config`` and its subcommands."""
    configParser = subparsers.add_parser(
        "config",
        help="check the services' config.json files",
        description="Inspect the services' config.json files.",
    )
    commands = configParser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    serviceKeys = [spec.key for spec in ALL_SERVICES]
    check = commands.add_parser(
        "check",
        help="validate a service's config.json without starting it",
        description="Parse and type-check SERVICE's config.json without starting the "
        "service and without changing the file. Prints 'OK: PATH' for a valid file and "
        "'PATH:LINE:COL: message' for an invalid one. Exit status: 0 when valid, 2 when "
        "not. A missing file or missing keys are valid: the service fills in defaults.",
    )
    check.add_argument(
        "service",
        metavar="SERVICE",
        nargs="?",
        default=ALL,
        choices=[*serviceKeys, ALL],
        help=f"the service whose config to check: {', '.join(serviceKeys)}, or {ALL} "
        f"(the default) for every service in its default home",
    )
    check.add_argument(
        "--home",
        metavar="DIR",
        type=Path,
        help="the service's home directory holding config.json (default: "
        "$PEEK_HOME_ROOT/peek-SERVICE-service.home, else ~/peek-SERVICE-service.home); "
        "needs a single SERVICE",
    )
    setHandler(check, checkConfig)


def checkConfig(args: argparse.Namespace) -> int:
    """Validate one or every service's config and report each; 2 if any is invalid."""
    if args.service == ALL:
        if args.home is not None:
            raise UsageError("--home is one service's home; name the SERVICE to check")
        homes = [(spec, spec.defaultHome()) for spec in ALL_SERVICES]
    else:
        spec = serviceByKey(args.service)
        homes = [(spec, args.home if args.home is not None else spec.defaultHome())]

    results = [_checkOne(spec, home) for spec, home in homes]
    return EXIT_OK if all(results) else EXIT_USAGE


def _checkOne(spec: ServiceSpec, home: Path) -> bool:
    """Check ``spec``'s config in ``home``; print the outcome; True when valid."""
    try:
        config = loadServiceConfig(spec, home, writeBack=False)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return False
    print(f"OK: {config.path}")
    if not config.path.exists():
        print(f"  no {CONFIG_FILE_NAME} yet: the {spec.key} service writes one with defaults")
    elif config.unwrittenKeys:
        print(f"  defaults apply to missing keys: {', '.join(config.unwrittenKeys)}")
    return True
