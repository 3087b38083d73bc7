"""One question to the running logic service: link with the secret, ask, wait, disconnect.

``peek status``, ``peek plugin enable|disable|restart`` and ``peek diagnostics`` reach the
running platform this way: a short-lived vortex client authenticated with the data exchange
secret read from logic's ``config.json`` (so only someone who can read that file can ask).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from twisted.internet import defer, task
from twisted.python.failure import Failure

from peek_platform.cli.base import CommandFailed, UsageError
from peek_platform.config import ConfigError, loadServiceConfig
from peek_platform.services import LOGIC
from peek_platform.vortex.service_commands import PLATFORM_COMMAND_FILT, PLATFORM_COMMAND_REPLY_FILT
from peek_platform.vortex.settings import SECRET_KEY, WILDCARD_ADDRESSES, dataExchangeUrl
from vortex.Payload import Payload
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.PayloadIO import PayloadIO
from vortex.SerialiseUtil import VortexDecodeError
from vortex.transport import Backoff, ClientTls, TlsConfigError
from vortex.VortexFactory import VortexFactory

if TYPE_CHECKING:
    from peek_platform.process.context import ServiceReactor

_T = TypeVar("_T")

#: The vortex name the ``peek`` command links to logic with.
CLI_VORTEX_NAME = "peek-status-cli"
#: Seconds to wait for logic's answer by default.
DEFAULT_TIMEOUT_SECONDS = 5.0


class LogicUnavailable(Exception):
    """Logic could not be reached or did not answer; the message says where and why."""


@dataclass(frozen=True)
class LogicLink:
    """Where logic's data exchange is and how to authenticate to it."""

    url: str
    secret: bytes
    tls: ClientTls | None = None


def addLogicLinkArguments(
    parser: argparse.ArgumentParser, *, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> None:
    """Add ``--home``, ``--url``, ``--timeout`` and the ``--tls-*`` options to ``parser``."""
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
        default=timeout,
        metavar="SECONDS",
        help=f"how long to wait for logic's answer (default {timeout:g})",
    )
    parser.add_argument("--tls-ca", type=Path, metavar="PEM", help="CA that signed logic's cert")
    parser.add_argument("--tls-cert", type=Path, metavar="PEM", help="client cert (mutual TLS)")
    parser.add_argument("--tls-key", type=Path, metavar="PEM", help="client key (mutual TLS)")


def logicLinkFromArgs(args: argparse.Namespace) -> LogicLink:
    """The link the options added by :func:`addLogicLinkArguments` describe."""
    home = args.home if args.home is not None else LOGIC.defaultHome()
    url, secret, useTls = logicEndpoint(home, args.url)
    tls = None
    if useTls or url.startswith("wss:"):
        try:
            tls = ClientTls(caPath=args.tls_ca, certPath=args.tls_cert, keyPath=args.tls_key)
        except TlsConfigError as e:
            raise UsageError(str(e)) from None
    return LogicLink(url, secret, tls)


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


def askLogic(
    link: LogicLink,
    request: bytes,
    replyFilt: dict[str, Any],
    decode: Callable[[PayloadEnvelope], _T],
    *,
    reactor: ServiceReactor,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    pollSeconds: float = 0.02,
) -> defer.Deferred[_T]:
    """Link to logic, send ``request``, and fire with ``decode`` of the first answer on
    ``replyFilt``; then disconnect.

    Fails with :class:`LogicUnavailable` when the link cannot be made (logic not running,
    wrong secret), ``decode`` raises it, or no answer arrives within ``timeout`` seconds.
    """
    url = link.url
    factory = VortexFactory(CLI_VORTEX_NAME, payloadIO=PayloadIO(), reactor=reactor)
    answer: defer.Deferred[_T] = defer.Deferred()

    def onAnswer(envelope: PayloadEnvelope, **kwargs: Any) -> None:
        if not answer.called:
            try:
                answer.callback(decode(envelope))
            except LogicUnavailable as e:
                answer.errback(e)

    PayloadEndpoint(replyFilt, onAnswer, payloadIO=factory.payloadIO)
    # One attempt: a long first backoff, and a watch on failedAttempts, fail fast.
    client = factory.connect(
        url,
        secret=link.secret,
        tls=link.tls,
        backoff=Backoff(initial=timeout * 10, cap=timeout * 10),
    )

    def watchAttempts() -> None:
        if client.failedAttempts and not answer.called:
            answer.errback(
                LogicUnavailable(
                    f"cannot link to the logic service's data exchange at {url}: is logic "
                    f"running, and does this logic home hold its current secret?"
                )
            )

    watcher = task.LoopingCall(watchAttempts)
    watcher.clock = reactor
    watcher.start(pollSeconds, now=False)

    def ask(info: Any) -> None:
        factory.sendVortexMsg(request, destVortexUuid=info.uuid).addErrback(answer.errback)

    factory.addOnlineListener(ask)

    def timedOut(result: Any, timeoutSeconds: float) -> None:
        raise LogicUnavailable(
            f"no answer from the logic service at {url} within {timeoutSeconds:g} s"
        )

    answer.addTimeout(timeout, reactor, onTimeoutCancel=timedOut)

    def cleanUp(result: Any) -> defer.Deferred:
        watcher.stop()
        return factory.shutdown().addCallback(lambda _: result)

    return answer.addBoth(cleanUp)


def runOnce(work: Callable[[Any], defer.Deferred[_T]]) -> _T:
    """Run the global reactor until ``work(reactor)`` settles; return or raise its result
    (``LogicUnavailable`` becomes ``CommandFailed``)."""
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
        if result.check(LogicUnavailable):
            raise CommandFailed(result.getErrorMessage())
        result.raiseException()
    return result


def runOnPlatform(
    link: LogicLink,
    command: str,
    args: dict[str, Any],
    *,
    reactor: ServiceReactor,
    service: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> defer.Deferred[list[dict[str, Any]]]:
    """Ask logic to run service ``command`` on every linked service (or ``service``'s); a
    Deferred of one answer document per service. Logic gets ``timeout`` for the services
    and this call a few seconds more for logic's own answer."""
    request = {"command": command, "args": args, "service": service, "timeout": timeout}
    msg = Payload(filt=dict(PLATFORM_COMMAND_FILT), tuples=[request]).toVortexMsg()

    def decode(envelope: PayloadEnvelope) -> list[dict[str, Any]]:
        try:
            tuples = envelope.decodePayload().tuples
        except VortexDecodeError as e:
            raise LogicUnavailable(f"logic at {link.url} sent a malformed answer: {e}") from e
        document = tuples[0] if len(tuples) == 1 and isinstance(tuples[0], dict) else {}
        if "error" in document:
            raise LogicUnavailable(f"logic refused {command!r}: {document['error']}")
        answers = document.get("answers")
        if not isinstance(answers, list):
            raise LogicUnavailable(f"logic at {link.url} sent a malformed answer: {tuples!r}")
        return answers

    return askLogic(
        link, msg, PLATFORM_COMMAND_REPLY_FILT, decode, reactor=reactor, timeout=timeout + 5
    )
