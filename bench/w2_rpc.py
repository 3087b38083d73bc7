"""W2: ``add(a, b)`` vortexRPC between two processes, ours vs vortexpy vs raw autobahn.

Workload (as in the vortexpy anchors): after 100 warm-up calls, (a) 2000 sequential calls
-> calls/s, p50/p99 latency; (b) 5000 calls with 200 in flight -> calls/s and errors. The raw
autobahn figure is W4's sequential echo round trip (100-byte messages), the ceiling for one
call. Runs ours, raw autobahn and vortexpy interleaved for several rounds; prints medians.

    python bench/w2_rpc.py [--rounds 5] [--ours-only] [--anchors DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import harness

sys.path.insert(0, str(harness.REPO_ROOT))

from vortex.rpc.RPC import vortexRPC

SERVER_NAME = "bench-w2-server"
CLIENT_NAME = "bench-w2-client"
SECRET = b"bench-w2-secret-0123456789abcdef"
WARMUP = 100


@vortexRPC(SERVER_NAME, timeoutSeconds=120.0)
def add(a, b):
    """The benchmarked RPC."""
    return a + b


def serve(port: int) -> None:
    """Server process: a vortex listening on port with ``add`` registered."""
    from twisted.internet import reactor
    from twisted.web.resource import Resource
    from twisted.web.server import Site

    from vortex.VortexFactory import VortexFactory

    factory = VortexFactory(SERVER_NAME).makeDefault()
    root = Resource()
    factory.listen(root, secret=SECRET)
    site = Site(root)
    site.noisy = False
    reactor.listenTCP(port, site, interface="127.0.0.1")
    add.start()
    reactor.callWhenRunning(lambda: print("READY", flush=True))
    reactor.run()


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile, as the anchors compute it."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100.0 * len(s) + 0.5) - 1))
    return s[k]


async def _drive(port: int, nSeq: int, nConc: int, inFlight: int) -> dict:
    from twisted.internet import defer

    from vortex.VortexFactory import VortexFactory

    factory = VortexFactory(CLIENT_NAME).makeDefault()
    connected = defer.Deferred()
    factory.addOnlineListener(lambda info: connected.called or connected.callback(None))
    factory.connect(f"ws://127.0.0.1:{port}/vortexws", secret=SECRET)
    await connected
    for i in range(WARMUP):
        assert await add(i, 1) == i + 1
    res: dict = {"n_seq": nSeq, "n_conc": nConc, "in_flight": inFlight}
    lat = []
    t0 = time.perf_counter()
    for i in range(nSeq):
        s = time.perf_counter()
        value = await add(i, 2)
        lat.append(time.perf_counter() - s)
        assert value == i + 2
    elapsed = time.perf_counter() - t0
    res.update(
        seq_calls_per_s=nSeq / elapsed,
        seq_p50_ms=percentile(lat, 50) * 1e3,
        seq_p99_ms=percentile(lat, 99) * 1e3,
    )
    done = defer.Deferred()
    state = {"issued": 0, "completed": 0, "errors": 0}

    def issue() -> None:
        i = state["issued"]
        state["issued"] += 1
        add(i, 3).addCallbacks(lambda v, i=i: finish(v != i + 3), lambda f: finish(True))

    def finish(error: bool) -> None:
        state["completed"] += 1
        state["errors"] += error
        if state["issued"] < nConc:
            issue()
        elif state["completed"] == nConc:
            done.callback(None)

    t0 = time.perf_counter()
    for _ in range(min(inFlight, nConc)):
        issue()
    await done
    res.update(conc_calls_per_s=nConc / (time.perf_counter() - t0), conc_errors=state["errors"])
    await factory.shutdown()
    return res


def drive(port: int, nSeq: int, nConc: int, inFlight: int) -> None:
    """Client process: run the calls and print one JSON line."""
    from twisted.internet import defer, task

    def main(_reactor):
        d = defer.Deferred.fromCoroutine(_drive(port, nSeq, nConc, inFlight))
        return d.addCallback(lambda res: print(json.dumps(res), flush=True))

    task.react(main)


def runOurs(nSeq: int, nConc: int, inFlight: int) -> dict:
    """Start our server and client processes; the client's figures."""
    port = harness.freePort()
    me = os.path.abspath(__file__)
    return harness.runServerClient(
        [sys.executable, me, "serve", str(port)],
        [sys.executable, me, "drive", str(port), str(nSeq), str(nConc), str(inFlight)],
        "W2",
    )


def runRaw(nSeq: int) -> dict:
    """W4's raw autobahn echo: sequential round trips/s."""
    import w4_roundtrip

    args = argparse.Namespace(seq=nSeq, pipe=2000, inflight=200)
    return w4_roundtrip.runPair("raw", args)


def runTheirs(anchors: Path, nSeq: int, nConc: int, inFlight: int) -> dict:
    """The anchors' vortexpy W2 (server + client processes) in the vortexpy venv."""
    argv = ["run_pair.py", "w2_rpc_server.py", "w2_rpc_client.py"]
    argv += [str(n) for n in (nSeq, nConc, inFlight)]
    return harness.runVortexpy(anchors, argv, "vortexpy W2", timeout=900)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seq", type=int, default=2000)
    parser.add_argument("--conc", type=int, default=5000)
    parser.add_argument("--inflight", type=int, default=200)
    parser.add_argument("--ours-only", action="store_true")
    harness.addAnchorsArgument(parser)
    args = parser.parse_args()
    ours, raw, theirs = [], [], []
    for n in range(args.rounds):  # interleaved: the machine is noisy
        ours.append(runOurs(args.seq, args.conc, args.inflight))
        harness.printRound(n + 1, "ours", ours[-1], 8)
        raw.append(runRaw(args.seq))
        harness.printRound(n + 1, "raw", raw[-1], 8)
        if not args.ours_only:
            theirs.append(runTheirs(args.anchors.resolve(), args.seq, args.conc, args.inflight))
            harness.printRound(n + 1, "vortexpy", theirs[-1], 8)

    med = harness.median
    rawSeq = med(raw, "seq_round_trips_per_s")
    print(f"\nW2 medians over {args.rounds} rounds")
    print(f"{'metric':22s} {'ours':>10s} {'vortexpy':>10s} {'ours/theirs':>12s}")
    for key in ("seq_calls_per_s", "seq_p50_ms", "seq_p99_ms", "conc_calls_per_s", "conc_errors"):
        o, t = med(ours, key), med(theirs, key)
        ratio = f"{o / t:11.1f}x" if t else f"{'-':>12s}"
        print(f"{key:22s} {o:10.1f} {t if t is not None else float('nan'):10.1f} {ratio}")
    print(
        f"raw autobahn sequential round trips/s {rawSeq:.0f};"
        f" ours seq calls/s = {med(ours, 'seq_calls_per_s') / rawSeq:.0%} of raw"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "drive":
        drive(*map(int, sys.argv[2:6]))
    else:
        main()
