"""``peek diagnostics [--out FILE]``: one zip of every linked service's diagnostics.

The request goes to logic (:mod:`peek_platform.cli.logic_link`), which runs the service
command ``diagnostics.collect`` on itself and every linked service; the answers are written
into one zip with secrets redacted (docs/admin/diagnostics.rst).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from peek_platform.cli.base import EXIT_FAILURE, EXIT_OK, CommandFailed, setHandler
from peek_platform.cli.logic_link import addLogicLinkArguments, logicLinkFromArgs, runOnPlatform
from peek_platform.cli.logic_link import runOnce as runOnReactor
from peek_platform.diagnostics import (
    DIAGNOSTICS_COMMAND,
    buildZip,
    defaultZipName,
    writeZipAtomically,
)
from peek_platform.services import SERVICES_BY_KEY

#: Seconds the services get by default to collect.
_DEFAULT_TIMEOUT = 30.0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``peek diagnostics``."""
    parser = subparsers.add_parser(
        "diagnostics",
        help="write one zip of every linked service's diagnostics, secrets redacted",
        description="Ask the running logic service to collect diagnostics from itself and "
        "every linked service (or only --service's kind) and write them into one zip: each "
        "service's effective config with secrets redacted, its newest log lines, versions, "
        "plugin states and timings, data exchange links, a stack dump of every thread and a "
        "metrics snapshot, plus summary.json naming who answered. The zip is written "
        "atomically with mode 0600. Exit status: 0 when every service answered, 1 when any "
        "did not (the zip still holds those that did) or logic cannot be reached, 2 for "
        "invalid arguments or an unusable logic config.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="where to write the zip (default: peek-diagnostics-<UTC timestamp>.zip in the "
        "current directory)",
    )
    parser.add_argument(
        "--service",
        choices=sorted(SERVICES_BY_KEY),
        help="collect from this kind of service only (default: every linked service)",
    )
    addLogicLinkArguments(parser, timeout=_DEFAULT_TIMEOUT)
    setHandler(parser, diagnosticsCommand)


def diagnosticsCommand(args: argparse.Namespace) -> int:
    """Collect through logic, write the zip, and print where and what it holds."""
    link = logicLinkFromArgs(args)
    when = datetime.now(UTC)
    out: Path = args.out if args.out is not None else Path.cwd() / defaultZipName(when)
    if not out.parent.is_dir():
        raise CommandFailed(f"cannot write {out}: {out.parent} is not a directory")
    answers: list[dict[str, Any]] = runOnReactor(
        lambda reactor: runOnPlatform(
            link,
            DIAGNOSTICS_COMMAND,
            {},
            reactor=reactor,
            service=args.service,
            timeout=args.timeout,
        )
    )
    if not answers:
        where = f"no {args.service} service is" if args.service else "no service is"
        raise CommandFailed(f"{where} linked to logic at {link.url}; no zip was written")
    data = buildZip(answers, when)
    try:
        writeZipAtomically(out, data)
    except OSError as e:
        raise CommandFailed(f"cannot write {out}: {e.strerror or e}") from None
    print(f"wrote {out} ({len(data)} bytes)")
    for answer in answers:
        print(describeAnswer(answer))
    return EXIT_OK if all(a["ok"] for a in answers) else EXIT_FAILURE


def describeAnswer(answer: dict[str, Any]) -> str:
    """One line: the service, where it runs, and whether it is in the zip."""
    where = answer["service"]
    service = answer.get("result", {}).get("service", {}) if answer["ok"] else {}
    host, pid = service.get("host") or answer.get("host"), service.get("pid") or answer.get("pid")
    if host:
        where += f" ({host} pid {pid})"
    if answer["ok"]:
        return f"  {where}: included"
    return f"  {where}: did not answer: {answer['error']}"
