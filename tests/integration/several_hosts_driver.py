"""Device driver for ``test_several_hosts.py``: devices of the noop plugin on field sites.

Run as ``python several_hosts_driver.py``. It reads one JSON request per line on stdin,
``{"id": n, "op": name, "args": {...}}``, and answers each on stdout with ``{"id": n,
"result": ...}`` or ``{"id": n, "error": "traceback"}``; requests run concurrently on its own
Twisted reactor, so the test process never runs one. Each device is a vortex link without
the secret to a field site's ``/vortexws``, as a browser page's is. Logs go to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from typing import Any

from peek_plugin_noop._private.PluginNames import (
    noopActionProcessorName,
    noopFilt,
    noopObservableName,
)
from peek_plugin_noop._private.storage.NoopItem import NoopItemTuple
from peek_plugin_noop._private.tuples.NoopIncrementActionTuple import NoopIncrementActionTuple
from twisted.internet import defer, stdio
from twisted.protocols.basic import LineReceiver
from twisted.python.failure import Failure

from peek_plugin_base.PeekVortexUtil import peekFieldName
from vortex.handler.TupleActionProcessor import RESPONSE_KEY_PREFIX
from vortex.handler.TupleActionPushClient import TupleActionPushClient
from vortex.handler.TupleDataObserverClient import TupleDataObserverClient
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadIO import PayloadIO
from vortex.transport import Backoff
from vortex.TupleSelector import TupleSelector
from vortex.VortexFactory import VortexFactory

logger = logging.getLogger("several_hosts_driver")

#: Push clients give up after this long (shorter than the test's wait for an answer).
PUSH_TIMEOUT_SECONDS = 10.0
#: What the noop pages observe: every item.
ALL_ITEMS = TupleSelector(NoopItemTuple.tupleName(), {})


class Device:
    """One device link to a field site: what it observed and the answers it got."""

    def __init__(self, name: str, url: str, reactor: Any) -> None:
        self.factory = VortexFactory(name, payloadIO=PayloadIO(), reactor=reactor)
        #: Each update of the observed items, oldest first, as ``{name: {id, value, ...}}``.
        self.updates: list[dict[str, dict]] = []
        #: Responses of the noop processor that reached this device, per action msgId.
        self.responseCounts: Counter[str] = Counter()
        #: The error code of each of those responses (None for success), oldest first.
        self.responseCodes: list[str | None] = []
        self._endpoint = PayloadEndpoint(
            {**noopFilt, "key": RESPONSE_KEY_PREFIX + noopActionProcessorName},
            self._onResponse,
            payloadIO=self.factory.payloadIO,
        )
        self.observer = TupleDataObserverClient(
            peekFieldName, noopObservableName, additionalFilt=noopFilt, vortexFactory=self.factory
        )
        self.pusher = TupleActionPushClient(
            peekFieldName,
            noopActionProcessorName,
            additionalFilt=noopFilt,
            timeoutSeconds=PUSH_TIMEOUT_SECONDS,
            vortexFactory=self.factory,
        )
        self.client = self.factory.connect(url, secret=None, backoff=Backoff(initial=0.1, cap=0.5))

    def _onResponse(self, envelope: Any, **_: Any) -> None:
        self.responseCounts.update([envelope.filt.get("msgId")])
        result = envelope.result
        self.responseCodes.append(result.get("error") if isinstance(result, dict) else None)

    def onItems(self, items: list[NoopItemTuple]) -> None:
        """Keep one observed update."""
        self.updates.append(
            {
                item.name: {"id": item.id, "value": item.value, "by": item.lastChangedBy}
                for item in items
            }
        )


class Driver:
    """The requests the test sends, one method per ``op``."""

    def __init__(self, reactor: Any) -> None:
        self._reactor = reactor
        self._devices: dict[str, Device] = {}

    def op_device(self, name: str, url: str) -> defer.Deferred:
        """Link a device called ``name`` to the site's vortex at ``url`` and observe the items."""
        device = self._devices[name] = Device(name, url, self._reactor)
        device.observer.subscribeToTupleSelector(ALL_ITEMS, device.onItems)
        return device.client.whenConnected().addCallback(lambda _: None)

    def op_latest(self, name: str) -> dict | None:
        """The items of the device's latest update, or None before the first one."""
        updates = self._devices[name].updates
        return updates[-1] if updates else None

    def op_increment(self, name: str, itemId: int, delta: int) -> defer.Deferred:
        """Push one increment action from the device; its answer, or the error's text."""
        action = NoopIncrementActionTuple(itemId=itemId, delta=delta)
        d = self._devices[name].pusher.pushAction(action)
        return d.addCallbacks(
            lambda _: {"ok": True},
            lambda failure: {"ok": False, "error": repr(failure.value)},
        )

    def op_responseCounts(self, name: str) -> dict[str, int]:
        """How many responses the device received per action msgId."""
        return dict(self._devices[name].responseCounts)

    def op_responseCodes(self, name: str) -> list[str | None]:
        """The error code of every response the device received (None: success)."""
        return list(self._devices[name].responseCodes)


class RequestProtocol(LineReceiver):
    """JSON requests in, JSON answers out."""

    delimiter = b"\n"

    def __init__(self, driver: Driver) -> None:
        self._driver = driver

    def lineReceived(self, line: bytes) -> None:
        """Run one request; answer when it settles."""
        request = json.loads(line)
        requestId = request["id"]
        method = getattr(self._driver, "op_" + request["op"])
        d = defer.maybeDeferred(method, **request.get("args", {}))
        d.addCallbacks(
            lambda result: self._answer({"id": requestId, "result": result}),
            lambda failure: self._failed(requestId, failure),
        )

    def _failed(self, requestId: int, failure: Failure) -> None:
        logger.error("request %s failed: %s", requestId, failure.getTraceback())
        self._answer({"id": requestId, "error": failure.getTraceback()})

    def _answer(self, answer: dict) -> None:
        assert self.transport is not None
        self.transport.write(json.dumps(answer).encode() + b"\n")

    def connectionLost(self, reason: Failure | None = None) -> None:
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
    stdio.StandardIO(RequestProtocol(Driver(reactor)))
    reactor.run()


if __name__ == "__main__":
    main()
