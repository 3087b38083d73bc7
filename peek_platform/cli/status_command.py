"""``peek status``: the live platform view, asked from the logic service's data exchange.

It links to logic as a short-lived vortex client authenticated with the secret in logic's
``config.json``, asks for the status snapshot, prints it and disconnects.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twisted.internet import defer, task
from twisted.python.failure import Failure

from peek_platform.cli.base import EXIT_OK, CommandFailed, UsageError, setHandler
from peek_platform.config import ConfigError, loadServiceConfig
from peek_platform.services import ALL_SERVICES, LOGIC
from peek_platform.vortex.settings import (
    SECRET_KEY,
    WILDCARD_ADDRESSES,
    dataExchangeUrl,
)
from peek_platform.vortex.tuples import (
    STATUS_QUERY_FILT,
    STATUS_SNAPSHOT_FILT,
    PlatformStatusTuple,
    ServiceStatusTuple,
    StatusFieldError,
)
from vortex.Payload import Payload
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadIO import PayloadIO
from vortex.SerialiseUtil import VortexDecodeError
from vortex.transport import Backoff, ClientTls, TlsConfigError
from vortex.VortexFactory import VortexFactory

if TYPE_CHECKING:
    from peek_platform.process.context import ServiceReactor

#: The vortex name ``peek status`` links to logic with.
STATUS_CLIENT_NAME = "peek-status-cli"
#: Seconds to wait for logic's answer by default.
DEFAULT_TIMEOUT_SECONDS = 5.0


class StatusUnavailable(Exception):
    """Logic could not be reached or did not answer; the message says where and why."""


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
    parser.add_argument(
        "--home",
        metavar="DIR",
        type=Path,
        help="the logic service's home (default: $PEEK_HOME_ROOT/peek-logic-service.home, "
        "else ~/peek-logic-service.home)",
    )
    parser.add_argument(
        "--url",
        help="data exchange URL to ask (default: from logic's config, "
        "ws[s]://bindAddress:port/vortexws)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"how long to wait for logic (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    parser.add_argument("--tls-ca", type=Path, metavar="PEM", help="CA that signed logic's cert")
    parser.add_argument("--tls-cert", type=Path, metavar="PEM", help="client cert (mutual TLS)")
    parser.add_argument("--tls-key", type=Path, metavar="PEM", help="client key (mutual TLS)")
    setHandler(parser, statusCommand)


def statusCommand(args: argparse.Namespace) -> int:
    """Fetch the status from logic and print it; CommandFailed when logic is not reachable."""
    home = args.home if args.home is not None else LOGIC.defaultHome()
    url, secret, useTls = logicEndpoint(home, args.url)
    tls = None
    if useTls or url.startswith("wss:"):
        try:
            tls = ClientTls(caPath=args.tls_ca, certPath=args.tls_cert, keyPath=args.tls_key)
        except TlsConfigError as e:
            raise UsageError(str(e)) from None
    snapshot = _runOnce(
        lambda reactor: fetchStatus(url, secret, tls=tls, reactor=reactor, timeout=args.timeout)
    )
    services = statusDicts(snapshot)
    if args.json:
        print(
            json.dumps(
                {"generatedAt": snapshot.generatedAt.isoformat(), "url": url, "services": services},
                indent=2,
            )
        )
    else:
        print(formatStatus(services, url, snapshot.generatedAt))
    return EXIT_OK


def logicEndpoint(home: Path, url: str | None = None) -> tuple[str, bytes, bool]:
    """URL (``url`` if given), secret and TLS flag of logic's data exchange, from ``home``."""
    try:
        config = loadServiceConfig(LOGIC, home, writeBack=False)
    except ConfigError as e:
        raise UsageError(str(e)) from None
    if not config.path.exists():
        raise CommandFailed(
            f"no logic service configuration at {config.path}: is the logic service installed "
            f"there? Use --home to name its home."
        )
    secret = config[SECRET_KEY]
    if not secret:
        raise CommandFailed(
            f"{config.path} has no {SECRET_KEY}: the logic service has not run yet "
            f"(it generates the secret on its first start)"
        )
    useTls = config["dataExchange.useTls"]
    if url is not None:
        return url, secret.encode(), useTls
    port = config["dataExchange.port"]
    if port == 0:
        raise UsageError(
            f"{config.path} sets dataExchange.port to 0, so the operating system chooses the "
            f"logic service's port when it starts and the config cannot say which: find it in "
            f"logic's log line 'data exchange listening on ...' and pass that URL with --url"
        )
    address = config["dataExchange.bindAddress"]
    host = "127.0.0.1" if address in WILDCARD_ADDRESSES else address
    return dataExchangeUrl(host, port, useTls), secret.encode(), useTls


def fetchStatus(
    url: str,
    secret: bytes,
    *,
    reactor: ServiceReactor,
    tls: ClientTls | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    pollSeconds: float = 0.02,
) -> defer.Deferred[PlatformStatusTuple]:
    """Link to logic at ``url``, ask for the status snapshot, disconnect; Deferred of it.

    Fails with StatusUnavailable when the link cannot be made (logic not running, wrong
    secret) or no answer arrives within ``timeout`` seconds.
    """
    factory = VortexFactory(STATUS_CLIENT_NAME, payloadIO=PayloadIO(), reactor=reactor)
    answer: defer.Deferred[PlatformStatusTuple] = defer.Deferred()

    def onSnapshot(envelope: Any, **kwargs: Any) -> None:
        if answer.called:
            return
        try:
            payload = envelope.decodePayload()
            snapshot = payload.tuples[0] if payload.tuples else None
            if not isinstance(snapshot, PlatformStatusTuple):
                raise StatusUnavailable(f"logic at {url} answered without a status: {payload!r}")
            answer.callback(snapshot.validate())
        except (VortexDecodeError, StatusFieldError) as e:
            answer.errback(StatusUnavailable(f"logic at {url} sent a malformed status: {e}"))
        except StatusUnavailable as e:
            answer.errback(e)

    PayloadEndpoint(STATUS_SNAPSHOT_FILT, onSnapshot, payloadIO=factory.payloadIO)
    # One attempt: a long first backoff, and a watch on failedAttempts, fail fast.
    client = factory.connect(
        url, secret=secret, tls=tls, backoff=Backoff(initial=timeout * 10, cap=timeout * 10)
    )

    def watchAttempts() -> None:
        if client.failedAttempts and not answer.called:
            answer.errback(
                StatusUnavailable(
                    f"cannot link to the logic service's data exchange at {url}: is logic "
                    f"running, and does this logic home hold its current secret?"
                )
            )

    watcher = task.LoopingCall(watchAttempts)
    watcher.clock = reactor
    watcher.start(pollSeconds, now=False)

    def ask(info: Any) -> None:
        msg = Payload(filt=dict(STATUS_QUERY_FILT)).toVortexMsg()
        factory.sendVortexMsg(msg, destVortexUuid=info.uuid).addErrback(answer.errback)

    factory.addOnlineListener(ask)

    def timedOut(result: Any, timeoutSeconds: float) -> None:
        raise StatusUnavailable(
            f"no status from the logic service at {url} within {timeoutSeconds:g} s"
        )

    answer.addTimeout(timeout, reactor, onTimeoutCancel=timedOut)

    def cleanUp(result: Any) -> defer.Deferred:
        watcher.stop()
        return factory.shutdown().addCallback(lambda _: result)

    return answer.addBoth(cleanUp)


def _runOnce(work: Callable[[Any], defer.Deferred]) -> Any:
    """Run the global reactor until ``work(reactor)`` settles; return or raise its result."""
    from twisted.internet import reactor as globalReactor

    # Typed as the running reactor it is: run() takes installSignalHandlers.
    reactor: ServiceReactor = globalReactor
    outcome: dict[str, Any] = {}

    def go() -> None:
        d = defer.maybeDeferred(work, reactor)

        def settle(result: Any) -> None:
            outcome["result"] = result
            reactor.stop()

        d.addBoth(settle)

    reactor.callWhenRunning(go)
    reactor.run(installSignalHandlers=False)
    result = outcome["result"]
    if isinstance(result, Failure):
        if result.check(StatusUnavailable):
            raise CommandFailed(result.getErrorMessage())
        result.raiseException()
    return result


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
            lines.append(f"    {p['name']} {p['version'] or '?'}  {p['state']}{reason}")
    return "\n".join(lines)
