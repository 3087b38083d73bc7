"""W4 transport benchmark: vortex links vs raw autobahn, echo over loopback, two processes.

Workload (as in the vortexpy anchors): 100-byte binary messages; 200 warm-up round trips,
then 2000 sequential round trips (-> round trips/s, p50/p99), then 20000 messages with 200
in flight (-> msgs/s). Runs raw autobahn and the vortex transport interleaved, several rounds,
and prints the medians and the vortex/raw ratios.

    python bench/w4_roundtrip.py [--rounds 3] [--seq 2000] [--pipe 20000] [--inflight 200]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import harness

MSG = (b"0123456789" * 10)[:100]
WARMUP = 200
SECRET = b"bench-secret-0123456789abcdef!!"
MODES = ("raw", "vortex")


class Driver:
    """Runs the three phases over a ``send`` function; ``onReply`` is fed every echo."""

    def __init__(self, send, nSeq: int, nPipe: int, inFlight: int, done) -> None:
        self.send, self.nSeq, self.nPipe, self.inFlight, self.done = (
            send,
            nSeq,
            nPipe,
            inFlight,
            done,
        )
        self.phase, self.count, self.lat, self.res = "warm", 0, [], {}

    def start(self) -> None:
        self.t = time.perf_counter()
        self.send(MSG)

    def onReply(self, data: bytes) -> None:
        now = time.perf_counter()
        if self.phase == "pipe":
            self.recv += 1
            if self.sent < self.nPipe:
                self.sent += 1
                self.send(MSG)
            elif self.recv == self.nPipe:
                self.res["pipe_msgs_per_s"] = self.nPipe / (time.perf_counter() - self.pipeT0)
                self.done(self.res)
            return
        if len(data) != len(MSG):
            raise RuntimeError(f"echo of {len(data)} bytes, expected {len(MSG)}")
        if self.phase == "seq":
            self.lat.append(now - self.t)
        self.count += 1
        if self.count < (WARMUP if self.phase == "warm" else self.nSeq):
            self.t = time.perf_counter()
            self.send(MSG)
        elif self.phase == "warm":
            self.phase, self.count = "seq", 0
            self.seqT0 = self.t = time.perf_counter()
            self.send(MSG)
        else:
            lat = sorted(self.lat)
            self.res.update(
                seq_round_trips_per_s=self.nSeq / (now - self.seqT0),
                seq_p50_ms=lat[len(lat) // 2] * 1e3,
                seq_p99_ms=lat[int(len(lat) * 0.99)] * 1e3,
            )
            self.phase, self.sent, self.recv = "pipe", 0, 0
            self.pipeT0 = time.perf_counter()
            for _ in range(min(self.inFlight, self.nPipe)):
                self.sent += 1
                self.send(MSG)


def serve(mode: str, port: int) -> None:
    """Echo server process: raw autobahn, or a VortexServerEndpoint with a shared secret."""
    from twisted.internet import reactor

    if mode == "raw":
        from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol

        class Echo(WebSocketServerProtocol):
            def onMessage(self, payload, isBinary):
                self.sendMessage(payload, isBinary)

        factory = WebSocketServerFactory(f"ws://127.0.0.1:{port}")
        factory.protocol = Echo
        reactor.listenTCP(port, factory, interface="127.0.0.1")
    else:
        from vortex.transport import VortexServerEndpoint

        server = VortexServerEndpoint(
            "bench-server", "bench-server-uuid", secret=SECRET, onMessage=lambda c, d: c.send(d)
        )
        server.listen(port, "127.0.0.1")
    reactor.callWhenRunning(lambda: print("READY", flush=True))
    reactor.run()


def drive(mode: str, port: int, nSeq: int, nPipe: int, inFlight: int) -> None:
    """Client process: runs the Driver and prints one JSON line."""
    from twisted.internet import reactor

    def done(res: dict) -> None:
        print(json.dumps(res), flush=True)
        reactor.stop()

    if mode == "raw":
        from autobahn.twisted.websocket import (
            WebSocketClientFactory,
            WebSocketClientProtocol,
            connectWS,
        )

        class Client(WebSocketClientProtocol):
            def onOpen(self):
                self.driver = Driver(
                    lambda m: self.sendMessage(m, True), nSeq, nPipe, inFlight, done
                )
                self.driver.start()

            def onMessage(self, payload, isBinary):
                self.driver.onReply(payload)

        factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}/")
        factory.protocol = Client
        connectWS(factory)
    else:
        from vortex.transport import VortexClient

        holder = {}

        def onConnect(conn) -> None:
            holder["driver"] = Driver(conn.send, nSeq, nPipe, inFlight, done)
            holder["driver"].start()

        client = VortexClient(
            f"ws://127.0.0.1:{port}/vortexws",
            "bench-client",
            "bench-client-uuid",
            secret=SECRET,
            onConnect=onConnect,
            onMessage=lambda c, d: holder["driver"].onReply(d),
        )
        client.start()
    reactor.callLater(300, lambda: (print(json.dumps({"error": "timeout"})), reactor.stop()))
    reactor.run()


def runPair(mode: str, args) -> dict:
    """Start a server process and a client process for one mode; return the client's figures."""
    port = harness.freePort()
    me = os.path.abspath(__file__)
    sizes = (args.seq, args.pipe, args.inflight)
    return harness.runServerClient(
        [sys.executable, me, "serve", mode, str(port)],
        [sys.executable, me, "drive", mode, str(port), *map(str, sizes)],
        mode,
        env=harness.repoPythonPathEnv(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seq", type=int, default=2000)
    parser.add_argument("--pipe", type=int, default=20000)
    parser.add_argument("--inflight", type=int, default=200)
    args = parser.parse_args()
    results = harness.runInterleaved(args.rounds, MODES, lambda mode: runPair(mode, args))
    harness.printRawComparison(
        f"\nW4 medians over {args.rounds} rounds (100-byte messages, loopback)",
        results,
        "vortex",
        "vortex",
        "vortex/raw",
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "drive":
        drive(sys.argv[2], int(sys.argv[3]), *map(int, sys.argv[4:7]))
    else:
        main()
