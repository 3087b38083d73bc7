"""A bulk transfer on a device link, with RPC and action replies on the same link, over real
loopback websockets: the 40 MiB payload arrives in chunks without closing the link, and
replies asked for while it travels arrive before it completes."""

from __future__ import annotations

import os

from linkedvortexes import FIELD, spinUntil

from vortex.handler.TupleActionProcessor import TupleActionProcessor
from vortex.handler.TupleActionPushClient import TupleActionPushClient
from vortex.handler.TupleDataObservableHandler import TupleDataObservableHandler, TuplesProviderABC
from vortex.handler.TupleDataObserverClient import TupleDataObserverClient
from vortex.Payload import Payload
from vortex.rpc.RPC import vortexRPC
from vortex.Tuple import Tuple, TupleField, addTupleType
from vortex.TupleAction import TupleGenericAction
from vortex.TupleSelector import TupleSelector

DEVICE = "peek-field-app"
BULK_BYTES = 40 * 1024 * 1024


@addTupleType
class BlobTuple(Tuple):
    """One large value: the bulk data of the test."""

    __tupleType__ = "tests.handler.BlobTuple"
    data = TupleField()


class BlobProvider(TuplesProviderABC):
    """Serves one BlobTuple of ``BULK_BYTES`` hex digits (compressible about 2:1, like data)."""

    def __init__(self) -> None:
        self.blob = os.urandom(BULK_BYTES // 2).hex()

    def makeVortexMsg(self, filt, tupleSelector):
        return Payload(filt, tuples=[BlobTuple(data=self.blob)]).toVortexMsg()


@vortexRPC(FIELD)
def echoForBulkTest(value: str) -> str:
    """Answer with what was sent."""
    return value


class Answerer:
    """An action delegate answering every action with nothing."""

    def processTupleAction(self, tupleAction):
        return []


def test_40_mib_payload_crosses_a_device_link_while_rpc_and_action_replies_overtake_it(
    vortexes,
):
    """A 40 MiB observable payload reaches a device over a compressed link, in chunks, and the
    link stays up; an RPC and an action sent once the transfer has started arriving are
    answered before it completes (ordering of events, not timing)."""
    field = vortexes.server(FIELD)
    observable = TupleDataObservableHandler("bulk", vortexFactory=field)
    provider = BlobProvider()
    observable.addTupleProvider(BlobTuple.tupleName(), provider)
    echoForBulkTest.start(vortexFactory=field)
    TupleActionProcessor("bulk.actions", defaultDelegate=Answerer(), vortexFactory=field)
    try:
        device = vortexes.client(DEVICE, FIELD, device=True)
        (link,) = [info.connection for info in device.remoteVortexes()]
        assert link.isCompressed  # a device offers compression and a device endpoint accepts
        events: list[tuple[str, object]] = []
        observer = TupleDataObserverClient(FIELD, "bulk", vortexFactory=device)
        observer.subscribeToTupleSelector(
            TupleSelector(BlobTuple.tupleName(), {}),
            lambda tuples: events.append(("bulk", tuples[0].data)),
        )
        spinUntil(lambda: link.reassemblingBytes > 0)  # the first chunks have arrived
        echoForBulkTest.using(device)("ping").addCallback(lambda v: events.append(("rpc", v)))
        TupleActionPushClient(FIELD, "bulk.actions", vortexFactory=device).pushAction(
            TupleGenericAction(key="go")
        ).addCallback(lambda tuples: events.append(("action", tuples)))
        spinUntil(lambda: len(events) == 3, timeout=60)
        assert [name for name, _ in events] == ["rpc", "action", "bulk"]
        assert events[0][1] == "ping" and events[2][1] == provider.blob
        assert link.isOpen and link.reassemblingBytes == 0
        received, _sent = link.wireBytes()
        assert received < BULK_BYTES * 0.6  # compressed on the wire
    finally:
        echoForBulkTest.shutdown()
