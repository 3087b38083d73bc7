"""W4 envelope benchmark: PayloadEnvelope round trips over the authenticated vortex.

A server process runs a VortexFactory with a PayloadEndpoint that answers every envelope
through ``sendResponse``; a client process sends envelopes (about 100-byte encoded payload body,
filt ``{"key": "bench.w4"}``) and counts the answers: 200 warm-ups, 2000 sequential round
trips, then 20000 with 200 in flight. Raw autobahn echo of 100-byte messages runs
interleaved as the baseline (``bench/w4_roundtrip.py``'s raw mode); the figures printed
are medians over the rounds and our/raw ratios.

vortexpy: its anchors (``/work/shared/anchors/vortexpy``) have no envelope round-trip
workload (W2 is RPC, W4 raw transports), so vortexpy is not part of this comparison.

    python bench/w4_envelope.py [--rounds 5] [--seq 2000] [--pipe 20000] [--inflight 200]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import harness

HERE = Path(__file__).resolve().parent
SECRET = b"bench-secret-0123456789abcdef!!"
MODES = ("raw", "envelope")
FILT = {"key": "bench.w4"}
REPLY_FILT = {"key": "bench.w4.reply"}


def _body() -> bytes:
    """An encoded payload body of about 100 bytes (what the envelope carries opaquely)."""
    from datetime import UTC, datetime

    from vortex.Payload import Payload

    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    base = Payload(filt=FILT, result="", date=stamp).toEncodedPayload()
    return Payload(filt=FILT, result="x" * max(0, 100 - len(base)), date=stamp).toEncodedPayload()


def _roundtrip():
    """bench/w4_roundtrip.py as a module (its Driver and raw-mode server/client)."""
    spec = importlib.util.spec_from_file_location("w4_roundtrip", HERE / "w4_roundtrip.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def serve(port: int) -> None:
    """Server process: a PayloadEndpoint answering each envelope with a reply envelope."""
    from twisted.internet import reactor
    from twisted.web.resource import Resource
    from twisted.web.server import Site

    from vortex.PayloadEndpoint import PayloadEndpoint
    from vortex.PayloadEnvelope import PayloadEnvelope
    from vortex.PayloadIO import PayloadIO
    from vortex.VortexFactory import VortexFactory

    io = PayloadIO()
    factory = VortexFactory("bench-server", payloadIO=io)

    def answer(envelope, sendResponse, **kwargs):
        reply = PayloadEnvelope(filt=REPLY_FILT, encodedPayload=envelope.encodedPayload)
        sendResponse(reply.toVortexMsg())

    PayloadEndpoint(FILT, answer, payloadIO=io)
    root = Resource()
    factory.listen(root, secret=SECRET)
    reactor.listenTCP(port, Site(root), interface="127.0.0.1")
    reactor.callWhenRunning(lambda: print("READY", flush=True))
    reactor.run()


def drive(port: int, nSeq: int, nPipe: int, inFlight: int) -> None:
    """Client process: send envelopes, count reply envelopes, print one JSON line."""
    from twisted.internet import reactor

    from vortex.PayloadEndpoint import PayloadEndpoint
    from vortex.PayloadEnvelope import PayloadEnvelope
    from vortex.PayloadIO import PayloadIO
    from vortex.VortexFactory import VortexFactory

    rt = _roundtrip()
    Driver, token, body = rt.Driver, rt.MSG, _body()
    io = PayloadIO()
    factory = VortexFactory("bench-client", payloadIO=io)
    holder = {}

    def done(res: dict) -> None:
        print(json.dumps(res), flush=True)
        reactor.stop()

    def online(info) -> None:
        uuid = info.uuid

        def send(_msg: bytes) -> None:
            envelope = PayloadEnvelope(filt=dict(FILT), encodedPayload=body)
            factory.sendVortexMsg(envelope.toVortexMsg(), destVortexUuid=uuid)

        holder["driver"] = driver = Driver(send, nSeq, nPipe, inFlight, done)
        driver.start()

    def onReply(envelope, **kwargs) -> None:
        if envelope.encodedPayload != body:
            raise RuntimeError(f"reply body {envelope.encodedPayload!r} is not what was sent")
        holder["driver"].onReply(token)

    PayloadEndpoint(REPLY_FILT, onReply, payloadIO=io)
    factory.addOnlineListener(online)
    factory.connect(f"ws://127.0.0.1:{port}/vortexws", secret=SECRET)
    reactor.callLater(300, lambda: (print(json.dumps({"error": "timeout"})), reactor.stop()))
    reactor.run()


def runEnvelope(args) -> dict:
    """One server + client pair of the envelope workload."""
    port = harness.freePort()
    me = str(Path(__file__).resolve())
    sizes = (args.seq, args.pipe, args.inflight)
    return harness.runServerClient(
        [sys.executable, me, "serve", str(port)],
        [sys.executable, me, "drive", str(port), *map(str, sizes)],
        "envelope",
        env=harness.repoPythonPathEnv(),
    )


def main() -> None:
    """Run raw and envelope rounds interleaved; print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seq", type=int, default=2000)
    parser.add_argument("--pipe", type=int, default=20000)
    parser.add_argument("--inflight", type=int, default=200)
    args = parser.parse_args()
    rt = _roundtrip()
    results = harness.runInterleaved(
        args.rounds,
        MODES,
        lambda mode: rt.runPair("raw", args) if mode == "raw" else runEnvelope(args),
    )
    harness.printRawComparison(
        f"\nW4 envelope medians over {args.rounds} rounds (loopback, two processes)",
        results,
        "envelope",
        "envelope",
        "ours/raw",
    )
    print("targets: sequential >= 80%, pipelined (200 in flight) >= 50% of raw autobahn")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "drive":
        drive(int(sys.argv[2]), *map(int, sys.argv[3:6]))
    else:
        main()
