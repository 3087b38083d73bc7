"""W1: serialise/deserialise one Payload of 1000 four-field tuples, ours vs vortexpy.

Encode = ``Payload(filt, tuples).makePayloadEnvelope().toVortexMsg()`` (the wire bytes);
decode = ``PayloadEnvelope.fromVortexMsg(msg).decodePayload()`` (real tuple objects).
Median of 20 repeats after 2 warm-ups. vortexpy's figures come from the reference harness
``w1_serialise.py`` in the anchors directory, run in the same session from its own venv.

The bytes a browser receives are measured on a real loopback device link: a device client
offering permessage-deflate exactly as Chromium does, the server answering with its
defaults; encode + deflate times the encode and the link's compression of its output.
``--compression`` prints the comparison of compression strategies behind that choice.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import harness

sys.path.insert(0, str(harness.REPO_ROOT))

from peek_plugin_base.testing.ReactorWait import spinReactorUntil
from vortex.Payload import Payload
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.transport import VortexClient, VortexServerEndpoint
from vortex.transport._autobahn_compat import DEFLATE_LEVEL
from vortex.transport.protocol import DEFLATE_MEM_LEVEL, DEFLATE_WINDOW_BITS
from vortex.Tuple import Tuple, TupleField, addTupleType

N = 1000
BASE_DT = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


@addTupleType
class BenchTuple(Tuple):
    """The W1 tuple: same fields and data as the anchors' ``anchorbench.BenchTuple``."""

    __tupleType__ = "bench.w1.BenchTuple"
    id = TupleField(typingType=int)
    name = TupleField(typingType=str)
    value = TupleField(typingType=float)
    when = TupleField(typingType=datetime)


def makeTuples(n: int = N) -> list[BenchTuple]:
    """Deterministic data: 20-char names, tz-aware UTC ``when`` for even ids, None for odd."""
    return [
        BenchTuple(
            id=i,
            name=f"item-{i:06d}-abcdefghij"[:20],
            value=i * 1.25 + 0.1,
            when=(BASE_DT + timedelta(seconds=i)) if i % 2 == 0 else None,
        )
        for i in range(n)
    ]


def linkDeflate(message: bytes) -> bytes:
    """``message`` compressed as a device link's server side does it (a fresh compressor:
    the first message of a link), without the 4-byte sync-flush tail the frame omits."""
    compressor = zlib.compressobj(
        DEFLATE_LEVEL, zlib.DEFLATED, -DEFLATE_WINDOW_BITS, DEFLATE_MEM_LEVEL
    )
    return (compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]


def runOurs(repeats: int, warmups: int) -> dict:
    """Time our encode (alone, and with the link's deflate) and decode; check the tuples."""
    tuples = makeTuples()
    filt = {"key": "bench.w1"}
    encodeTimes, decodeTimes, encodeDeflateTimes = [], [], []
    message = b""
    for i in range(repeats + warmups):
        t0 = time.perf_counter()
        message = Payload(filt=filt, tuples=tuples).makePayloadEnvelope().toVortexMsg()
        t1 = time.perf_counter()
        payload = PayloadEnvelope.fromVortexMsg(message).decodePayload()
        t2 = time.perf_counter()
        assert len(payload.tuples) == N and isinstance(payload.tuples[0], BenchTuple)
        assert payload.tuples[7].id == 7 and payload.tuples[8].when == tuples[8].when
        assert payload.tuples[9].when is None
        t3 = time.perf_counter()
        linkDeflate(Payload(filt=filt, tuples=tuples).makePayloadEnvelope().toVortexMsg())
        t4 = time.perf_counter()
        if i >= warmups:
            encodeTimes.append(t1 - t0)
            decodeTimes.append(t2 - t1)
            encodeDeflateTimes.append(t4 - t3)
    encodeMedian = statistics.median(encodeTimes)
    decodeMedian = statistics.median(decodeTimes)
    encodeDeflateMedian = statistics.median(encodeDeflateTimes)
    return {
        "impl": "peek-vortex",
        "encode_tuples_per_s": round(N / encodeMedian),
        "encode_deflate_tuples_per_s": round(N / encodeDeflateMedian),
        "decode_tuples_per_s": round(N / decodeMedian),
        "encode_ms_median": round(encodeMedian * 1e3, 3),
        "encode_deflate_ms_median": round(encodeDeflateMedian * 1e3, 3),
        "decode_ms_median": round(decodeMedian * 1e3, 3),
        "wire_bytes": len(message),
        "wire_bytes_deflated": len(linkDeflate(message)),
        **browserLinkBytes(message),
    }


def browserLinkBytes(message: bytes) -> dict:
    """Send ``message`` from a device endpoint (default settings) to a device client that
    offers permessage-deflate as Chromium does, over loopback: the bytes the client's socket
    received for it (websocket frame included) and whether the link was compressed."""
    from twisted.internet import defer, reactor

    received: list[bytes] = []
    server = VortexServerEndpoint(
        "peek-field-service",
        "bench-field",
        secret=None,
        allowDevices=True,
        onMessage=lambda connection, data: None,
        reactor=reactor,
    )
    port = server.listen(0)
    client = VortexClient(
        f"ws://127.0.0.1:{port.getHost().port}/vortexws",
        "peek-field-app",
        "bench-device",
        secret=None,
        onMessage=lambda connection, data: received.append(data),
        reactor=reactor,
    )
    client.start()
    try:
        spinReactorUntil(lambda: client.connected and bool(server.connections))
        link = client.connection
        assert link is not None
        before, _sent = link.wireBytes()
        server.connections[0].send(message)
        spinReactorUntil(lambda: bool(received))
        after, _sent = link.wireBytes()
        assert received == [message]
        return {
            "browser_link_wire_bytes": after - before,
            "browser_link_compressed": link.isCompressed,
        }
    finally:
        done = defer.gatherResults([client.stop(), defer.maybeDeferred(port.stopListening)])
        server.closeAll("bench over")
        spinReactorUntil(lambda: done.called)


def runTheirs(anchors: Path) -> dict:
    """Run the anchors' vortexpy W1 harness with the venv's python and parse its JSON line."""
    script = anchors / "w1_serialise.py"
    if not script.exists():
        raise SystemExit(f"{script} not found; pass --anchors DIR (the vortexpy anchors folder)")
    done = harness.runVortexpyProcess(anchors, [script.name])
    lines = harness.jsonLines(done.stdout)
    if done.returncode != 0 or not lines:
        raise SystemExit(
            f"vortexpy W1 harness failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return json.loads(lines[-1])


def printTable(ours: dict, theirs: dict | None, ratios: dict | None) -> None:
    """Readable summary of the figures."""
    rows = [
        ("encode tuples/s", "encode_tuples_per_s", "encode_tuples_per_s"),
        ("encode + deflate tuples/s", "encode_deflate_tuples_per_s", "encode_tuples_per_s"),
        ("decode tuples/s", "decode_tuples_per_s", "decode_tuples_per_s"),
        ("encode ms (1000 tuples)", "encode_ms_median", "encode_ms_median"),
        ("decode ms (1000 tuples)", "decode_ms_median", "decode_ms_median"),
        ("wire bytes (plain)", "wire_bytes", None),
        ("bytes to a browser", "browser_link_wire_bytes", "wire_bytes"),
    ]
    print(f"{'W1 metric':<27}{'ours':>13}{'vortexpy':>14}{'ours/theirs':>14}")
    for label, key, theirsKey in rows:
        theirsValue = "-" if theirs is None or theirsKey is None else f"{theirs[theirsKey]:,}"
        ratio = "-" if not ratios or key not in ratios else f"{ratios[key]:.2f}x"
        print(f"{label:<27}{ours[key]:>13,}{theirsValue:>14}{ratio:>14}")
    state = "compressed" if ours["browser_link_compressed"] else "NOT compressed"
    print(f"(the browser link was {state}; vortexpy's bytes are zlib-9 + base64 in its frame;")
    print(" vortexpy's encode includes its zlib, so compare it with encode + deflate too)")


def strategyCompressor(
    level: int, bits: int, memLevel: int, takeover: bool, smallest: int
) -> Callable[[bytes], bytes]:
    """What one link sends for each message under a compression strategy: messages under
    ``smallest`` bytes plain; with ``takeover`` one compressor for all (as a permessage-deflate
    link keeps it), else a fresh one per message."""
    shared = zlib.compressobj(level, zlib.DEFLATED, -bits, memLevel)

    def compress(message: bytes) -> bytes:
        if len(message) < smallest:
            return message
        c = shared if takeover else zlib.compressobj(level, zlib.DEFLATED, -bits, memLevel)
        return (c.compress(message) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]

    return compress


def compareCompression() -> list[dict]:
    """The strategies weighed for device links, on W1 and on typical small messages: bytes,
    CPU per message and compressor state kept per link (docs/dev/transport.rst)."""
    w1 = Payload(filt={"key": "bench.w1"}, tuples=makeTuples()).makePayloadEnvelope().toVortexMsg()
    reply = (
        Payload(
            filt={"key": "vortex.rpc.response:plugin.module.func", "msgId": "ab12cd:17"},
            tuples=[42],
        )
        .makePayloadEnvelope()
        .toVortexMsg()
    )
    updates = [
        Payload(
            filt={"key": "vortex.observable.data:x", "subId": "ab:3"},
            tuples=makeTuples(5)[i % 5 : i % 5 + 4],
        )
        .makePayloadEnvelope()
        .toVortexMsg()
        for i in range(100)
    ]
    threshold = 16 * 1024
    strategies = [
        # name, level, window bits, mem level, context takeover, smallest message compressed
        ("permessage-deflate as autobahn", 6, 15, 8, True, 0),
        (
            "permessage-deflate, ours",
            DEFLATE_LEVEL,
            DEFLATE_WINDOW_BITS,
            DEFLATE_MEM_LEVEL,
            True,
            0,
        ),
        ("large payloads only (>=16 KiB)", 6, 15, 8, False, threshold),
        ("large payloads only, level 1", 1, 15, 8, False, threshold),
    ]
    rows = []
    for name, level, bits, memLevel, takeover, smallest in strategies:
        compress = strategyCompressor(level, bits, memLevel, takeover, smallest)

        def microseconds(message: bytes, repeats: int, compress=compress) -> float:
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                compress(message)
                times.append(time.perf_counter() - t0)
            return round(statistics.median(times) * 1e6, 1)

        w1Bytes = len(compress(w1))
        rows.append(
            {
                "strategy": name,
                "w1_bytes": w1Bytes,
                "w1_us": microseconds(w1, 30),
                "reply_us": microseconds(reply, 300),
                "updates_bytes": sum(len(compress(m)) for m in updates),
                "state_kib": ((1 << (bits + 2)) + (1 << (memLevel + 9))) // 1024 if takeover else 0,
            }
        )
    print(
        f"W1 is {len(w1):,} bytes; the reply {len(reply)}; 100 updates "
        f"{sum(map(len, updates)):,} bytes in all"
    )
    header = f"{'strategy':<34}{'W1 bytes':>9}{'W1 us':>8}{'reply us':>9}"
    print(f"{header}{'updates B':>10}{'KiB/link':>9}")
    for row in rows:
        print(
            f"{row['strategy']:<34}{row['w1_bytes']:>9,}{row['w1_us']:>8}{row['reply_us']:>9}"
            f"{row['updates_bytes']:>10,}{row['state_kib']:>9}"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.addAnchorsArgument(
        parser,
        "folder holding the vortexpy reference harness (default ../shared/anchors/vortexpy)",
    )
    parser.add_argument("--ours-only", action="store_true", help="skip the vortexpy comparison")
    parser.add_argument(
        "--compression", action="store_true", help="also compare compression strategies"
    )
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmups", type=int, default=2)
    args = parser.parse_args()

    ours = runOurs(args.repeats, args.warmups)
    theirs = ratios = None
    if not args.ours_only:
        theirs = runTheirs(args.anchors.resolve())
        ratios = {
            key: round(ours[key] / theirs[theirsKey], 2)
            for key, theirsKey in (
                ("encode_tuples_per_s", "encode_tuples_per_s"),
                ("encode_deflate_tuples_per_s", "encode_tuples_per_s"),
                ("decode_tuples_per_s", "decode_tuples_per_s"),
                ("browser_link_wire_bytes", "wire_bytes"),
            )
        }
    result = {
        "workload": "W1",
        "tuples": N,
        "repeats": args.repeats,
        "ours": ours,
        "vortexpy": theirs,
        "ratio_ours_over_theirs": ratios,
    }
    if args.compression:
        result["compression"] = compareCompression()
    print(json.dumps(result, sort_keys=True))
    printTable(ours, theirs, ratios)


if __name__ == "__main__":
    main()
