"""W1: serialise/deserialise one Payload of 1000 four-field tuples, ours vs vortexpy.

Encode = ``Payload(filt, tuples).makePayloadEnvelope().toVortexMsg()`` (the wire bytes);
decode = ``PayloadEnvelope.fromVortexMsg(msg).decodePayload()`` (real tuple objects).
Median of 20 repeats after 2 warm-ups. vortexpy's figures come from the reference harness
``w1_serialise.py`` in the anchors directory, run in the same session from its own venv.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import harness

sys.path.insert(0, str(harness.REPO_ROOT))

from vortex.Payload import Payload
from vortex.PayloadEnvelope import PayloadEnvelope
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


def runOurs(repeats: int, warmups: int) -> dict:
    """Time our encode and decode; check the decoded tuples are right."""
    tuples = makeTuples()
    filt = {"key": "bench.w1"}
    encodeTimes, decodeTimes = [], []
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
        if i >= warmups:
            encodeTimes.append(t1 - t0)
            decodeTimes.append(t2 - t1)
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    deflated = deflate.compress(message) + deflate.flush()
    encodeMedian = statistics.median(encodeTimes)
    decodeMedian = statistics.median(decodeTimes)
    return {
        "impl": "peek-vortex",
        "encode_tuples_per_s": round(N / encodeMedian),
        "decode_tuples_per_s": round(N / decodeMedian),
        "encode_ms_median": round(encodeMedian * 1e3, 3),
        "decode_ms_median": round(decodeMedian * 1e3, 3),
        "wire_bytes": len(message),
        "wire_bytes_deflated": len(deflated),
    }


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
        ("encode tuples/s", "encode_tuples_per_s"),
        ("decode tuples/s", "decode_tuples_per_s"),
        ("encode ms (1000 tuples)", "encode_ms_median"),
        ("decode ms (1000 tuples)", "decode_ms_median"),
        ("wire bytes", "wire_bytes"),
    ]
    print(f"{'W1 metric':<26}{'ours':>14}{'vortexpy':>14}{'ours/theirs':>14}")
    for label, key in rows:
        theirsValue = "-" if theirs is None else f"{theirs[key]:,}"
        ratio = "-" if not ratios or key not in ratios else f"{ratios[key]:.1f}x"
        print(f"{label:<26}{ours[key]:>14,}{theirsValue:>14}{ratio:>14}")
    deflated = f"{ours['wire_bytes_deflated']:,}"
    print(f"{'wire bytes, deflated':<26}{deflated:>14}{'-':>14}{'-':>14}")
    print("(vortexpy's wire bytes are already zlib-9 + base64; ours are plain JSON that the")
    print(" transport's permessage-deflate compresses, as the deflated row estimates)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.addAnchorsArgument(
        parser,
        "folder holding the vortexpy reference harness (default ../shared/anchors/vortexpy)",
    )
    parser.add_argument("--ours-only", action="store_true", help="skip the vortexpy comparison")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmups", type=int, default=2)
    args = parser.parse_args()

    ours = runOurs(args.repeats, args.warmups)
    theirs = ratios = None
    if not args.ours_only:
        theirs = runTheirs(args.anchors.resolve())
        ratios = {
            key: round(ours[key] / theirs[key], 2)
            for key in ("encode_tuples_per_s", "decode_tuples_per_s")
        }
    result = {
        "workload": "W1",
        "tuples": N,
        "repeats": args.repeats,
        "ours": ours,
        "vortexpy": theirs,
        "ratio_ours_over_theirs": ratios,
    }
    print(json.dumps(result, sort_keys=True))
    printTable(ours, theirs, ratios)


if __name__ == "__main__":
    main()
