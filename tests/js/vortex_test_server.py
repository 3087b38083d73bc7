"""A device-facing vortex server for the JS client tests, run as a child process.

Serves ``/vortexws`` (devices allowed, no secret) on 127.0.0.1 with: the observable
``jstest.observable`` (provider for ``jstest.Item``, selector ``{"group": g}``), the action
processor ``jstest.actions`` (generic actions ``add``/``echo``/``fail``/``busy``), and RPCs
``addInts``/``fails``; all with additionalFilt ``{"plugin": "jstest"}``. Prints one JSON
line (port, names) once listening; SIGTERM stops it. A group ``bulk:<n>`` serves one item of
``n`` random hex digits, for the chunking tests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

from jstest_tuples import JsTestItem
from twisted.internet import reactor
from twisted.web.resource import Resource
from twisted.web.server import Site

from vortex.handler.TransientFailure import RetryLaterError
from vortex.handler.TupleActionProcessor import (
    TupleActionProcessor,
    TupleActionProcessorDelegateABC,
)
from vortex.handler.TupleDataObservableHandler import (
    TupleDataObservableHandler,
    TuplesProviderABC,
)
from vortex.Payload import Payload
from vortex.rpc.RPC import vortexRPC
from vortex.transport import TransportLimits
from vortex.TupleAction import TupleActionABC
from vortex.TupleSelector import TupleSelector
from vortex.VortexFactory import VortexFactory

VORTEX_NAME = "jstest-server"
FILT = {"plugin": "jstest"}


#: A group ``bulk:<n>`` holds one item whose name is ``n`` random hex digits, its SHA-256 in
#: ``extra["sha256"]``: the large payloads of the chunking tests.
BULK_GROUP_PREFIX = "bulk:"


def bulkItem(size: int) -> JsTestItem:
    """One item carrying ``size`` random hex digits and their SHA-256."""
    name = os.urandom(size // 2 + 1).hex()[:size]
    return JsTestItem(id=0, name=name, extra={"sha256": hashlib.sha256(name.encode()).hexdigest()})


class ItemStore(TuplesProviderABC):
    """Items by group, served to observers of ``jstest.Item``."""

    def __init__(self) -> None:
        self.groups: dict[str, list[JsTestItem]] = {}

    def makeVortexMsg(self, filt: dict, tupleSelector: TupleSelector) -> bytes:
        """The current items of the selector's group (one large generated item for
        ``bulk:<n>``)."""
        group = tupleSelector.selector.get("group")
        if isinstance(group, str) and group.startswith(BULK_GROUP_PREFIX):
            items = [bulkItem(int(group[len(BULK_GROUP_PREFIX) :]))]
        else:
            items = self.groups.get(group, [])
        return Payload(filt, tuples=list(items)).toVortexMsg()


class ActionDelegate(TupleActionProcessorDelegateABC):
    """``add`` appends an item and notifies observers; ``echo`` answers; ``fail`` raises;
    ``busy`` raises ``RetryLaterError`` the first ``data["times"]`` times an action (by
    uuid) arrives, then answers like ``echo``."""

    def __init__(self, store: ItemStore, observable: TupleDataObservableHandler, log: Path | None):
        self.store = store
        self.observable = observable
        self.log = log
        #: ``busy`` actions by uuid: how often each was refused so far.
        self.refused: dict[str, int] = {}

    def processTupleAction(self, tupleAction: TupleActionABC) -> list:
        """Process one generic action and record its uuid in the action log."""
        if self.log is not None:
            with self.log.open("a", encoding="utf-8") as f:
                f.write(tupleAction.uuid + "\n")
        data = tupleAction.data or {}
        if tupleAction.key == "add":
            items = self.store.groups.setdefault(data["group"], [])
            items.append(JsTestItem(id=len(items), name=data["name"]))
            self.observable.notifyOfTupleUpdate(
                TupleSelector("jstest.Item", {"group": data["group"]})
            )
            return []
        if tupleAction.key == "busy":
            refused = self.refused.get(tupleAction.uuid, 0)
            if refused < data["times"]:
                self.refused[tupleAction.uuid] = refused + 1
                raise RetryLaterError("the test's database is busy")
        if tupleAction.key in ("echo", "busy"):
            return [JsTestItem(name="echo", extra={"uuid": tupleAction.uuid, "data": data})]
        raise ValueError(f"asked to fail: {data!r}")


@vortexRPC(VORTEX_NAME, additionalFilt=FILT)
def addInts(a: int, b: int, kwval: int = 0) -> int:
    """Add the arguments (an RPC for the JS tests)."""
    return a + b + kwval


@vortexRPC(VORTEX_NAME, additionalFilt=FILT)
def fails() -> None:
    """Always raise (an RPC for the JS tests)."""
    raise KeyError("no such thing")


def main() -> None:
    """Parse the arguments, serve, and run the reactor until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--heartbeat", type=float, default=5.0)
    parser.add_argument("--no-devices", action="store_true")
    parser.add_argument(
        "--login-required", action="store_true", help="refuse every device as having no login"
    )
    parser.add_argument("--action-log", type=Path)
    args = parser.parse_args()

    factory = VortexFactory(VORTEX_NAME, reactor=reactor)
    root = Resource()
    factory.listen(
        root,
        secret=None,
        allowDevices=not args.no_devices,
        limits=TransportLimits(heartbeatSeconds=args.heartbeat),
        admitDevice=(lambda address: "log in first") if args.login_required else None,
    )
    store = ItemStore()
    observable = TupleDataObservableHandler("jstest.observable", FILT, vortexFactory=factory)
    observable.addTupleProvider("jstest.Item", store)
    TupleActionProcessor(
        "jstest.actions",
        FILT,
        defaultDelegate=ActionDelegate(store, observable, args.action_log),
        vortexFactory=factory,
    )
    addInts.start(vortexFactory=factory)
    fails.start(vortexFactory=factory)

    site = Site(root)
    site.noisy = False
    port = reactor.listenTCP(args.port, site, interface="127.0.0.1")
    info = {
        "port": port.getHost().port,
        "vortexName": VORTEX_NAME,
        "rpc": {"addInts": addInts.rpcName, "fails": fails.rpcName},
    }
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    reactor.run()


if __name__ == "__main__":
    main()
