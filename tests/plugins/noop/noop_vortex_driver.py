"""A Python vortex client of the noop plugin, run as its own process by the noop tests.

``python noop_vortex_driver.py URL SECRET`` links to logic's data exchange at URL, observes
every ``NoopItemTuple`` with a ``TupleDataObserverClient``, pushes a
``NoopIncrementActionTuple`` (delta 2) for the item "Apples" with a
``TupleActionPushClient``, and prints one JSON object: the values of "Apples" the observer
saw first and after the action, and the action's result tuples.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from peek_plugin_noop._private.PluginNames import (
    noopActionProcessorName,
    noopFilt,
    noopObservableName,
)
from peek_plugin_noop._private.storage.DeclarativeBase import loadStorageTuples
from peek_plugin_noop._private.storage.NoopItem import NoopItemTuple
from peek_plugin_noop._private.tuples import loadPrivateTuples
from peek_plugin_noop._private.tuples.NoopIncrementActionTuple import NoopIncrementActionTuple
from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred

from peek_plugin_base.PeekVortexUtil import peekLogicName
from vortex.handler.TupleActionPushClient import TupleActionPushClient
from vortex.handler.TupleDataObserverClient import TupleDataObserverClient
from vortex.TupleSelector import TupleSelector
from vortex.VortexFactory import VortexFactory

#: Seconds the whole exchange may take.
TIMEOUT_SECONDS = 20.0


async def exchange(factory: VortexFactory) -> dict[str, Any]:
    """Observe, push one action, and wait until the observer sees its effect."""
    observer = TupleDataObserverClient(
        peekLogicName, noopObservableName, noopFilt, vortexFactory=factory
    )
    pusher = TupleActionPushClient(
        peekLogicName, noopActionProcessorName, noopFilt, vortexFactory=factory
    )
    updates: list[list] = []
    waiting: list[Deferred[None]] = []

    def received(tuples: list) -> None:
        updates.append(tuples)
        while waiting:
            waiting.pop().callback(None)

    async def nextUpdate() -> list:
        seen = len(updates)
        while len(updates) == seen:
            d: Deferred[None] = Deferred()
            waiting.append(d)
            await d
        return updates[-1]

    observer.subscribeToTupleSelector(TupleSelector(NoopItemTuple.tupleName(), {}), received)
    first = updates[-1] if updates else await nextUpdate()
    apples = next(item for item in first if item.name == "Apples")
    pushed = pusher.pushAction(NoopIncrementActionTuple(itemId=apples.id, delta=2))
    result = await pushed
    after = apples.value
    while after == apples.value:
        after = next(i.value for i in await nextUpdate() if i.name == "Apples")
    observer.shutdown()
    pusher.shutdown()
    return {
        "firstTypes": sorted({type(item).__name__ for item in first}),
        "before": apples.value,
        "after": after,
        "result": [type(t).__name__ for t in result],
    }


def main() -> None:
    """Link to logic, run the exchange, print its JSON report, stop."""
    url, secret = sys.argv[1], sys.argv[2].encode()
    loadStorageTuples()
    loadPrivateTuples()
    factory = VortexFactory("peek-noop-test-client", reactor=reactor)
    report: dict[str, Any] = {}

    def run() -> Deferred[None]:
        factory.connect(url, secret=secret)
        d = ensureDeferred(exchange(factory))
        d.addTimeout(TIMEOUT_SECONDS, reactor)
        d.addCallbacks(report.update, lambda f: report.update(error=f.getTraceback()))
        d.addBoth(lambda _: factory.shutdown())
        d.addBoth(lambda _: reactor.stop())
        return d

    reactor.callWhenRunning(run)
    reactor.run()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
