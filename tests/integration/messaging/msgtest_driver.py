"""Test driver process: vortex links (a service peer of logic, devices of field/office).

Run as ``python msgtest_driver.py LOGIC_URL SECRET HEARTBEAT_SECONDS`` (logic's settings).
It reads one JSON request per line on stdin, ``{"id": n, "op": name, "args": {...}}``,
and answers each on stdout with ``{"id": n, "result": ...}`` or ``{"id": n, "error":
"traceback"}``; requests run concurrently on its own Twisted reactor. Tuples cross the
pipe as plain dicts (``{"_type": tupleName, field: value, ...}``). Logs go to stderr.

A helper process keeps the test process free of a running global reactor.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from peek_plugin_msgtest._private.logic.LogicHandlers import boardSelector
from peek_plugin_msgtest._private.outcome import outcomeOf
from peek_plugin_msgtest._private.PluginNames import msgtestFilt, msgtestObservableName
from twisted.internet import defer, stdio
from twisted.protocols.basic import LineReceiver
from twisted.python.failure import Failure

from vortex.handler.TupleActionProcessor import RESPONSE_KEY_PREFIX
from vortex.handler.TupleActionPushClient import TupleActionPushClient
from vortex.handler.TupleDataObserverClient import TupleDataObserverClient
from vortex.Payload import Payload
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadIO import PayloadIO
from vortex.transport import Backoff, TransportLimits
from vortex.transport.limits import DEFAULT_LIMITS
from vortex.Tuple import Tuple, tupleForTupleName
from vortex.VortexFactory import VortexFactory

logger = logging.getLogger("msgtest_driver")

#: Push clients give up after this long (shorter than the test's wait for an answer).
PUSH_TIMEOUT_SECONDS = 10.0


def toPlain(value: Any) -> Any:
    """A JSON-ready copy of a vortex value (tuples become dicts with ``_type``)."""
    if isinstance(value, Tuple):
        plain = {name: toPlain(getattr(value, name)) for name in value.tupleFieldNames()}
        plain["_type"] = value.tupleName()
        return plain
    if isinstance(value, dict):
        return {key: toPlain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [toPlain(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def fromPlain(value: Any) -> Any:
    """The vortex value of a plain one (dicts with ``_type`` become registered tuples)."""
    if isinstance(value, dict):
        items = {key: fromPlain(item) for key, item in value.items() if key != "_type"}
        if "_type" not in value:
            return items
        cls = tupleForTupleName(value["_type"])
        if cls is None:
            raise ValueError(f"no tuple type {value['_type']!r} is registered in the driver")
        return cls(**items)
    if isinstance(value, list):
        return [fromPlain(item) for item in value]
    return value


class Link:
    """One vortex of the driver: its factory and what it has seen."""

    def __init__(self, factory: VortexFactory, destVortexName: str) -> None:
        self.factory = factory
        self.destVortexName = destVortexName
        self.events: Counter[str] = Counter()
        self.updates: dict[str, list] = defaultdict(list)
        self.responseCounts: dict[str, Counter[str]] = {}
        self.received: Counter[str] = Counter()
        self.observer: TupleDataObserverClient | None = None
        self.pushClients: dict[str, TupleActionPushClient] = {}
        self.endpoints: list[PayloadEndpoint] = []
        factory.addOnlineListener(lambda info: self.events.update(["up"]))
        factory.addOfflineListener(lambda info, reason: self.events.update(["down"]))


class Driver:
    """The requests the test sends, one method per ``op``."""

    def __init__(self, reactor: Any, logicUrl: str, secret: bytes, heartbeatSeconds: float) -> None:
        self._reactor = reactor
        self._logicUrl = logicUrl
        self._secret = secret
        # Heartbeats are not negotiated: a peer must beat at least as often as logic expects.
        self._serviceLimits = TransportLimits(heartbeatSeconds=heartbeatSeconds)
        self._links: dict[str, Link] = {}

    def _newLink(
        self, name: str, url: str, secret: bytes | None, dest: str, limits: TransportLimits
    ) -> defer.Deferred:
        if name in self._links:
            raise ValueError(f"the driver already has a link named {name!r}")
        factory = VortexFactory(name, payloadIO=PayloadIO(), reactor=self._reactor)
        self._links[name] = Link(factory, dest)
        client = factory.connect(
            url, secret=secret, limits=limits, backoff=Backoff(initial=0.1, cap=0.5)
        )
        return client.whenConnected().addCallback(lambda _: None)

    def op_service(self, name: str) -> defer.Deferred:
        """Link to logic as the service peer ``name`` (authenticated with the secret)."""
        return self._newLink(
            name, self._logicUrl, self._secret, "peek-logic-service", self._serviceLimits
        )

    def op_devices(self, names: list[str], url: str, dest: str) -> defer.Deferred:
        """Connect one device (no secret) per name to the device vortex at ``url``."""
        return defer.gatherResults(
            [self._newLink(name, url, None, dest, DEFAULT_LIMITS) for name in names],
            consumeErrors=True,
        ).addCallback(lambda _: None)

    def op_rpc(self, link: str, module: str, qualname: str, args: list, kwargs: dict) -> Any:
        """Call the RPC ``module.qualname`` through ``link``; its outcome tuple."""
        rpc: Any = importlib.import_module(module)
        for part in qualname.split("."):
            rpc = getattr(rpc, part)
        call = rpc.using(self._links[link].factory)
        return outcomeOf(call, *fromPlain(args), **fromPlain(kwargs))

    def op_subscribe(self, link: str, board: str) -> None:
        """Observe the board's value from ``link``; updates are kept in order."""
        state = self._links[link]
        if state.observer is None:
            state.observer = TupleDataObserverClient(
                state.destVortexName,
                msgtestObservableName,
                additionalFilt=msgtestFilt,
                vortexFactory=state.factory,
            )
        updates = state.updates[board]
        state.observer.subscribeToTupleSelector(
            boardSelector(board),
            lambda tuples: updates.append(toPlain(tuples)),
            onError=lambda error: updates.append({"error": str(error)}),
        )

    def op_updates(self, link: str, board: str) -> list:
        """Every update ``link`` received for the board, oldest first."""
        return self._links[link].updates[board]

    def op_push(self, link: str, processor: str, action: dict) -> defer.Deferred:
        """Push an action to ``processor`` on the linked service; its outcome tuple.

        Every response arriving for the processor is also counted by msgId.
        """
        state = self._links[link]
        client = state.pushClients.get(processor)
        if client is None:
            counts = state.responseCounts[processor] = Counter()
            state.endpoints.append(
                PayloadEndpoint(
                    {**msgtestFilt, "key": RESPONSE_KEY_PREFIX + processor},
                    lambda envelope, **_: counts.update([envelope.filt.get("msgId")]),
                    payloadIO=state.factory.payloadIO,
                )
            )
            client = state.pushClients[processor] = TupleActionPushClient(
                state.destVortexName,
                processor,
                additionalFilt=msgtestFilt,
                timeoutSeconds=PUSH_TIMEOUT_SECONDS,
                vortexFactory=state.factory,
            )
        return outcomeOf(client.pushAction, fromPlain(action))

    def op_responseCounts(self, link: str, processor: str) -> dict:
        """How many responses ``link`` received per msgId from ``processor``."""
        return dict(self._links[link].responseCounts.get(processor, {}))

    def op_listen(self, link: str, key: str) -> None:
        """Count the messages ``link`` receives whose filt key is ``key``."""
        state = self._links[link]
        state.endpoints.append(
            PayloadEndpoint(
                {**msgtestFilt, "key": key},
                lambda envelope, **_: state.received.update([key]),
                payloadIO=state.factory.payloadIO,
            )
        )

    def op_received(self, link: str, key: str) -> int:
        """How many messages with filt key ``key`` ``link`` has received (see ``listen``)."""
        return self._links[link].received[key]

    def op_send(self, link: str, filt: dict, tuples: list) -> defer.Deferred:
        """Send a hand-made message on every link of ``link`` (a device: to its service)."""
        msg = Payload(filt=fromPlain(filt), tuples=fromPlain(tuples)).toVortexMsg()
        return self._links[link].factory.sendVortexMsg(msg)

    def op_events(self, link: str) -> dict:
        """How often ``link`` came up and went down."""
        return dict(self._links[link].events)


class RequestProtocol(LineReceiver):
    """JSON requests in, JSON answers out."""

    delimiter = b"\n"
    MAX_LENGTH = 1 << 20

    def __init__(self, driver: Driver) -> None:
        self._driver = driver

    def lineReceived(self, line: bytes) -> None:
        request = json.loads(line)
        requestId = request["id"]
        method = getattr(self._driver, "op_" + request["op"])
        d = defer.maybeDeferred(method, **request.get("args", {}))
        d.addCallbacks(
            lambda result: self._answer({"id": requestId, "result": toPlain(result)}),
            lambda failure: self._failed(requestId, failure),
        )

    def _failed(self, requestId: int, failure: Failure) -> None:
        logger.error("request %s failed: %s", requestId, failure.getTraceback())
        self._answer({"id": requestId, "error": failure.getTraceback()})

    def _answer(self, answer: dict) -> None:
        self.transport.write(json.dumps(answer).encode() + b"\n")

    def connectionLost(self, reason: Failure = None) -> None:
        """The test closed stdin: stop."""
        from twisted.internet import reactor

        if reactor.running:
            reactor.stop()


def main() -> None:
    """Serve requests until stdin closes."""
    from twisted.internet import reactor

    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    logicUrl, secret, heartbeatSeconds = sys.argv[1:4]
    driver = Driver(reactor, logicUrl, secret.encode(), float(heartbeatSeconds))
    stdio.StandardIO(RequestProtocol(driver))
    reactor.run()


if __name__ == "__main__":
    main()
