"""W3: one observable, 50 subscriber processes, a burst of 100 notifies; ours vs vortexpy.

Workload (as in the vortexpy anchors): a server process with a TupleDataObservableHandler
whose provider (run in a thread, as the manual's providers are) returns 10 small tuples
stamped with the provider call's ``seq``; 50 subscriber processes, each with its own vortex
link and TupleDataObserverClient. Once all have subscribed and 2 s have passed, the server
calls ``notifyOfTupleUpdate`` 100 times back to back. Reported: the time until every
subscriber holds the final state, updates received per subscriber, and how many times any
subscriber saw an older state after a newer one (must be 0).

    python bench/w3_fanout.py [--subs 50] [--updates 100] [--rounds 1] [--ours-only]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import harness

sys.path.insert(0, str(harness.REPO_ROOT))

from vortex.Tuple import Tuple, TupleField, addTupleType
from vortex.TupleSelector import TupleSelector

SERVER_NAME = "bench-w3-server"
OBSERVABLE = "bench.w3.observable"
SECRET = b"bench-w3-secret-0123456789abcdef"
SETTLE_S = 2.0
QUIET_S = 2.0


@addTupleType
class SmallTuple(Tuple):
    """The observed tuple: as the anchors' SmallTuple."""

    __tupleType__ = "bench.w3.SmallTuple"
    id = TupleField()
    seq = TupleField()
    phase = TupleField()
    label = TupleField()


SELECTOR = TupleSelector(SmallTuple.tupleName(), {})


def serve(port: int, nSubs: int, nUpdates: int) -> None:
    """Server process: observable + threaded provider; prints SUBSCRIBED, T0, FINAL."""
    from twisted.internet import reactor, threads
    from twisted.web.resource import Resource
    from twisted.web.server import Site

    from vortex.handler.TupleDataObservableHandler import (
        TupleDataObservableHandler,
        TuplesProviderABC,
    )
    from vortex.Payload import Payload
    from vortex.VortexFactory import VortexFactory

    state = {"calls": 0, "phase": "initial", "last": time.monotonic()}
    lock = threading.Lock()

    class Provider(TuplesProviderABC):
        def makeVortexMsg(self, filt, tupleSelector):
            return threads.deferToThread(self._make, filt)

        def _make(self, filt):
            with lock:
                state["calls"] += 1
                seq = state["calls"]
            state["last"] = time.monotonic()
            tuples = [
                SmallTuple(id=i, seq=seq, phase=state["phase"], label=f"tuple-{i:02d}")
                for i in range(10)
            ]
            return Payload(filt, tuples=tuples).toVortexMsg()

    factory = VortexFactory(SERVER_NAME).makeDefault()
    root = Resource()
    factory.listen(root, secret=SECRET)
    site = Site(root)
    site.noisy = False
    reactor.listenTCP(port, site, interface="127.0.0.1", backlog=200)
    handler = TupleDataObservableHandler(OBSERVABLE)
    handler.addTupleProvider(SmallTuple.tupleName(), Provider())

    def waitSubs() -> None:
        if handler.subscriberCount(SELECTOR) >= nSubs:
            print(f"SUBSCRIBED {nSubs}", flush=True)
            reactor.callLater(SETTLE_S, burst)
        else:
            reactor.callLater(0.05, waitSubs)

    def burst() -> None:
        state["phase"] = "update"
        print(f"CALLS_BEFORE {state['calls']}", flush=True)
        print(f"T0 {time.time():.6f}", flush=True)
        for _ in range(nUpdates):
            handler.notifyOfTupleUpdate(SELECTOR)
        reactor.callLater(QUIET_S, final)

    def final() -> None:
        if time.monotonic() - state["last"] < QUIET_S:
            reactor.callLater(0.2, final)
            return
        print(f"FINAL {state['calls']}", flush=True)

    reactor.callWhenRunning(lambda: print("READY", flush=True))
    reactor.callWhenRunning(waitSubs)
    reactor.run()


def subscribe(port: int, idx: int) -> None:
    """Subscriber process: records (time, seq) of every update; prints one JSON line."""
    from twisted.internet import reactor

    from vortex.handler.TupleDataObserverClient import TupleDataObserverClient
    from vortex.VortexFactory import VortexFactory

    factory = VortexFactory(f"bench-w3-sub-{idx:03d}").makeDefault()
    rec: dict = {"initial": 0, "updates": [], "last": None, "start": time.time()}

    def onTuples(tuples: list) -> None:
        now = time.time()
        if tuples and tuples[0].phase == "update":
            rec["updates"].append((now, tuples[0].seq))
            rec["last"] = now
        else:
            rec["initial"] += 1

    def check() -> None:
        last = rec["last"]
        if (last is not None and time.time() - last > QUIET_S) or time.time() - rec["start"] > 240:
            print(json.dumps({"idx": idx, "initial": rec["initial"], "updates": rec["updates"]}))
            sys.stdout.flush()
            reactor.stop()
            return
        reactor.callLater(0.25, check)

    client = TupleDataObserverClient(SERVER_NAME, OBSERVABLE)
    client.subscribeToTupleSelector(SELECTOR, onTuples)
    factory.connect(f"ws://127.0.0.1:{port}/vortexws", secret=SECRET)
    reactor.callLater(0.25, check)
    reactor.run()


def runOurs(nSubs: int, nUpdates: int) -> dict:
    """Start the server and the subscriber processes; compute the figures."""
    me = os.path.abspath(__file__)
    port = harness.freePort()
    server = subprocess.Popen(
        [sys.executable, me, "serve", str(port), str(nSubs), str(nUpdates)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    subs: list[subprocess.Popen] = []
    try:
        if "READY" not in server.stdout.readline():
            raise RuntimeError("W3 server did not start")
        for i in range(nSubs):
            subs.append(
                subprocess.Popen(
                    [sys.executable, me, "subscribe", str(port), str(i)],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
            )
        info: dict[str, float] = {}
        while "FINAL" not in info:
            line = server.stdout.readline()
            if not line:
                raise RuntimeError("W3 server exited early")
            key, _, value = line.strip().partition(" ")
            info[key] = float(value)
        outs = []
        for p in subs:
            out, _ = p.communicate(timeout=300)
            outs.extend(json.loads(ln) for ln in out.splitlines() if ln.startswith("{"))
    finally:
        for p in subs:
            if p.poll() is None:
                p.kill()
        server.kill()
        server.wait()
    t0, finalSeq = info["T0"], int(info["FINAL"])
    finalTimes, outOfOrder, counts = [], 0, []
    for o in outs:
        seqs = [s for _, s in o["updates"]]
        counts.append(len(seqs))
        outOfOrder += sum(1 for a, b in itertools.pairwise(seqs) if b < a)
        reached = [t for t, s in o["updates"] if s == finalSeq]
        finalTimes.append(reached[0] - t0 if reached else None)
    complete = all(t is not None for t in finalTimes) and len(outs) == nSubs
    return {
        "subscribers_reporting": len(outs),
        "provider_calls_total": finalSeq,
        "provider_calls_in_burst": finalSeq - int(info["CALLS_BEFORE"]),
        "final_state_all_s": max(finalTimes) if complete else None,
        "updates_per_sub_min": min(counts) if counts else None,
        "updates_per_sub_median": statistics.median(counts) if counts else None,
        "updates_per_sub_max": max(counts) if counts else None,
        "out_of_order_total": outOfOrder,
        "subs_with_final_seq": sum(1 for t in finalTimes if t is not None),
    }


def runTheirs(anchors: Path, nSubs: int, nUpdates: int) -> dict:
    """The anchors' vortexpy W3 in the vortexpy venv."""
    argv = ["w3_fanout.py", str(nSubs), str(nUpdates)]
    return harness.runVortexpy(anchors, argv, "vortexpy W3", timeout=1200)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subs", type=int, default=50)
    parser.add_argument("--updates", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--ours-only", action="store_true")
    harness.addAnchorsArgument(parser)
    args = parser.parse_args()
    for n in range(args.rounds):
        ours = runOurs(args.subs, args.updates)
        harness.printRound(n + 1, "ours", ours, 8)
        theirs = None
        if not args.ours_only:
            theirs = runTheirs(args.anchors.resolve(), args.subs, args.updates)
            harness.printRound(n + 1, "vortexpy", theirs, 8)
        print(f"{'metric':26s} {'ours':>10s} {'vortexpy':>10s}")
        for key in (
            "final_state_all_s",
            "updates_per_sub_min",
            "updates_per_sub_median",
            "updates_per_sub_max",
            "out_of_order_total",
            "subs_with_final_seq",
        ):
            t = None if theirs is None else theirs.get(key)
            print(f"{key:26s} {ours[key]!s:>10s} {t!s:>10s}")
        if theirs and ours["final_state_all_s"] and theirs.get("final_state_all_s"):
            ratio = ours["final_state_all_s"] / theirs["final_state_all_s"]
            print(f"ours/theirs time to final state on every subscriber: {ratio:.3f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(*map(int, sys.argv[2:5]))
    elif len(sys.argv) > 1 and sys.argv[1] == "subscribe":
        subscribe(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
