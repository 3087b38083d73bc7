"""``peek status``: the live platform view, asked from the logic service's data exchange.

It links to logic as a short-lived vortex client authenticated with the secret in logic's
``config.json``, asks for the status snapshot, prints it and disconnects.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from twisted.internet import defer

from peek_platform.cli.base import EXIT_OK, setHandler
from peek_platform.cli.logic_link import (
    DEFAULT_TIMEOUT_SECONDS,
    LogicLink,
    LogicUnavailable,
    addLogicLinkArguments,
    askLogic,
    logicLinkFromArgs,
    runOnce,
)
from peek_platform.services import ALL_SERVICES
from peek_platform.vortex.tuples import (
    STATUS_QUERY_FILT,
    STATUS_SNAPSHOT_FILT,
    PlatformStatusTuple,
    ServiceStatusTuple,
    StatusFieldError,
)
from vortex.Payload import Payload
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.SerialiseUtil import VortexDecodeError
from vortex.transport import ClientTls

if TYPE_CHECKING:
    from peek_platform.process.context import ServiceReactor


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``peek status``."""
    parser = subparsers.add_parser(
        "status",
        help="show every service and its plugins, live from the logic service",
        description="Ask the running logic service for the platform status: each service "
        "(connected or not, since when, host, pid, version) and its plugins (state and "
        "failure reason). Connects to logic's data exchange with the secret from logic's "
        "config.json. Exit status: 0 on success, 1 when logic cannot be reached, 2 when "
        "logic's config is unusable.",
    )
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    addLogicLinkArguments(parser)
    setHandler(parser, statusCommand)


def statusCommand(args: argparse.Namespace) -> int:
    """Fetch the status from logic and print it; CommandFailed when logic is not reachable."""
    link = logicLinkFromArgs(args)
    snapshot = runOnce(
        lambda reactor: fetchStatus(
            link.url, link.secret, tls=link.tls, reactor=reactor, timeout=args.timeout
        )
    )
    services = statusDicts(snapshot)
    if args.json:
        print(
            json.dumps(
                {
                    "generatedAt": snapshot.generatedAt.isoformat(),
                    "url": link.url,
                    "services": services,
                },
                indent=2,
            )
        )
    else:
        print(formatStatus(services, link.url, snapshot.generatedAt))
    return EXIT_OK


def fetchStatus(
    url: str,
    secret: bytes,
    *,
    reactor: ServiceReactor,
    tls: ClientTls | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> defer.Deferred[PlatformStatusTuple]:
    """Link to logic at ``url``, ask for the status snapshot, disconnect; Deferred of it.

    Fails with LogicUnavailable when the link cannot be made (logic not running, wrong
    secret) or no answer arrives within ``timeout`` seconds.
    """

    def decode(envelope: PayloadEnvelope) -> PlatformStatusTuple:
        try:
            payload = envelope.decodePayload()
            snapshot = payload.tuples[0] if payload.tuples else None
            if not isinstance(snapshot, PlatformStatusTuple):
                raise LogicUnavailable(f"logic at {url} answered without a status: {payload!r}")
            return snapshot.validate()
        except (VortexDecodeError, StatusFieldError) as e:
            raise LogicUnavailable(f"logic at {url} sent a malformed status: {e}") from e

    request = Payload(filt=dict(STATUS_QUERY_FILT)).toVortexMsg()
    link = LogicLink(url, secret, tls)
    return askLogic(link, request, STATUS_SNAPSHOT_FILT, decode, reactor=reactor, timeout=timeout)


def statusDicts(snapshot: PlatformStatusTuple) -> list[dict[str, Any]]:
    """The snapshot's services as dicts, plus each known service never heard from."""
    services = [s.toJsonDict() | {"reported": True} for s in snapshot.services]
    seen = {s["serviceKey"] for s in services}
    for spec in ALL_SERVICES:
        if spec.key not in seen:
            empty = {name: None for name in ServiceStatusTuple.tupleFieldNames()}
            services.append(
                empty
                | {
                    "serviceKey": spec.key,
                    "vortexName": spec.vortexName,
                    "plugins": [],
                    "connected": False,
                    "reported": False,
                }
            )
    return services


def _when(iso: str | None) -> str:
    if iso is None:
        return "?"
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _timings(plugin: dict[str, Any]) -> str:
    """`` (load N ms, start M ms)`` for the steps that ran, else nothing."""
    steps = [
        f"{step} {plugin[key] * 1000:.0f} ms"
        for step, key in (("load", "loadSeconds"), ("start", "startSeconds"))
        if plugin.get(key) is not None
    ]
    return f" ({', '.join(steps)})" if steps else ""


def formatStatus(services: list[dict[str, Any]], url: str, generatedAt: datetime) -> str:
    """Human-readable status: one line per service, one indented line per plugin."""
    lines = [f"Platform status from {url} at {generatedAt.strftime('%Y-%m-%d %H:%M:%S %Z')}"]
    width = max(len(spec.key) for spec in ALL_SERVICES)
    for s in services:
        key = f"{s['serviceKey']:<{width}}"
        if not s["reported"]:
            lines.append(f"{key}  not connected (never reported to logic)")
            continue
        if s["connected"]:
            link = f"connected since {_when(s['connectedSince'])}"
        else:
            link = (
                f"DISCONNECTED at {_when(s['disconnectedAt'])} "
                f"(was connected since {_when(s['connectedSince'])})"
            )
        lines.append(
            f"{key}  {link}  host {s['host']}  pid {s['pid']}  version {s['version']}"
            f"  started {_when(s['startedAt'])}"
        )
        if not s["plugins"]:
            lines.append("    (no plugins enabled)")
        for p in s["plugins"]:
            reason = f"  -- {p['reason']}" if p["reason"] else ""
            lines.append(
                f"    {p['name']} {p['version'] or '?'}  {p['state']}{_timings(p)}{reason}"
            )
    return "\n".join(lines)
