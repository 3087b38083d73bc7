"""Worker round trips: logic submits Celery tasks, a worker service runs them, results return.

Each round, for each worker size (``--procs``, pool processes of one worker), it runs one
after the other, each against a freshly started worker:

* ``plain``: plain Celery on the same Redis: a ``celery worker`` process (prefork, the same
  pool size, Celery's defaults otherwise) with the same ``add`` task, driven by
  ``add.delay(...).get()``;
* ``ours``: a Peek worker service driven from a real reactor by a ``CeleryTaskSubmitter``
  (logic's path), on Redis;
* ``ours-embedded``: the same on the embedded SQLite broker and result store;
* ``before`` (added by ``--before DIR``) and ``before-embedded`` (if named in ``--modes``):
  the same as ``ours`` with the worker service and submitter of another checkout (e.g. a
  worktree of the previous commit).

Every client measures ``--seq`` tasks one after another (round trips/s, median latency)
and then ``--burst`` tasks in flight at once (plain Celery: ``delay()`` all, then ``get()``
each; ours: submit all, then wait for all): round trips/s, and for ours how late a 10 ms
heartbeat on logic's reactor got meanwhile. The task is ``add(x, y)``, so the figures are
platform overhead. Medians over ``--rounds`` are printed with the ratios to plain Celery,
then one JSON line with everything. Needs ``redis-server``.

    python bench/worker_roundtrip.py [--rounds 3] [--seq 200] [--burst 500] [--procs 1,2]
        [--modes plain,ours,ours-embedded] [--before DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

PLUGIN = "peek_plugin_wbench"
TASK = f"{PLUGIN}.tasks.add"
PLAIN_MODULE = "wrt_plain"
#: Seconds a client may take for one whole measurement.
CLIENT_TIMEOUT = 600
#: Tasks run (unmeasured) before measuring, so the worker and its pool are warm.
WARM_TASKS = 20

_INIT = """
from peek_plugin_base.worker.PluginWorkerEntryHookABC import PluginWorkerEntryHookABC


class Hook(PluginWorkerEntryHookABC):
    def load(self): pass
    def start(self): pass
    def stop(self): pass
    def unload(self): pass

    @property
    def celeryAppIncludes(self):
        return ["peek_plugin_wbench.tasks"]


def peekWorkerEntryHook():
    return Hook
"""
_TASKS = """
from peek_plugin_base.worker.CeleryApp import celeryApp


@celeryApp.task(bind=True)
def add(self, x, y):
    return x + y
"""
#: Plain Celery: the same task on an app with Celery's defaults (JSON is the default).
_PLAIN = """
import os

from celery import Celery

app = Celery("wrt_plain", broker=os.environ["WRT_BROKER"], backend=os.environ["WRT_RESULT"])


@app.task(bind=True)
def add(self, x, y):
    return x + y
"""


def writeTaskCode(directory: Path) -> None:
    """The bench plugin (for Peek workers) and the plain Celery module, in ``directory``."""
    package = directory / PLUGIN
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(_INIT)
    (package / "tasks.py").write_text(_TASKS)
    (package / "plugin_package.json").write_text(
        json.dumps(
            {
                "plugin": {"title": "bench", "packageName": PLUGIN, "version": "0.0.1"},
                "requiresServices": ["worker"],
            }
        )
    )
    (directory / f"{PLAIN_MODULE}.py").write_text(_PLAIN)


# -- clients (run as child processes, with the code under test on PYTHONPATH) ----------------


def plainClient(args: argparse.Namespace) -> dict:
    """Plain Celery: ``delay().get()`` one after another, then ``--burst`` in flight."""
    from wrt_plain import add  # type: ignore[import-not-found]  # written by writeTaskCode

    for _ in range(WARM_TASKS):
        add.delay(0, 0).get(timeout=60)
    latencies = []
    began = time.perf_counter()
    for i in range(args.seq):
        t = time.perf_counter()
        assert add.delay(i, 1).get(timeout=60) == i + 1
        latencies.append(time.perf_counter() - t)
    seqElapsed = time.perf_counter() - began
    began, cpu = time.perf_counter(), time.process_time()
    pending = [add.delay(i, 1) for i in range(args.burst)]
    values = [result.get(timeout=60) for result in pending]
    burstElapsed, burstCpu = time.perf_counter() - began, time.process_time() - cpu
    assert values == [i + 1 for i in range(args.burst)]
    return {
        "seqPerSecond": args.seq / seqElapsed,
        "seqMedianMs": statistics.median(latencies) * 1000,
        "burstPerSecond": args.burst / burstElapsed,
        "burstCpuMsPerTask": burstCpu * 1000 / args.burst,
    }


def oursClient(args: argparse.Namespace) -> dict:
    """Logic's path: a reactor and a ``CeleryTaskSubmitter`` of the checkout on PYTHONPATH."""
    from twisted.internet import reactor
    from twisted.internet.defer import DeferredList, ensureDeferred
    from twisted.internet.task import LoopingCall

    from peek_logic_service.celery.submitter import CeleryTaskSubmitter
    from peek_platform.celery.app_config import newCeleryApp, prepareLocalStores
    from peek_platform.celery.settings import CelerySettings

    class LagProbe:
        """How late a 10 ms heartbeat on logic's reactor gets while tasks are in flight."""

        PERIOD = 0.01

        def __init__(self) -> None:
            self.maxLag = 0.0
            self._last = time.monotonic()
            self._loop = LoopingCall(self._beat)
            self._loop.start(self.PERIOD, now=False)

        def _beat(self) -> None:
            now = time.monotonic()
            self.maxLag = max(self.maxLag, now - self._last - self.PERIOD)
            self._last = now

        def stop(self) -> None:
            self._loop.stop()

    settings = CelerySettings(args.broker, args.result)
    prepareLocalStores(settings)
    figures: dict = {}

    async def measure() -> None:
        submitter = CeleryTaskSubmitter(
            newCeleryApp(settings), reactor, resultTimeoutSeconds=CLIENT_TIMEOUT
        )
        submitter.start()
        try:
            for _ in range(WARM_TASKS):  # the first waits until the worker answers
                await submitter.submit(TASK, 0, 0)
            latencies = []
            began = time.perf_counter()
            for i in range(args.seq):
                t = time.perf_counter()
                assert await submitter.submit(TASK, i, 1) == i + 1
                latencies.append(time.perf_counter() - t)
            seqElapsed = time.perf_counter() - began
            lag = LagProbe()
            began, cpu = time.perf_counter(), time.process_time()
            results = await DeferredList(
                [submitter.submit(TASK, i, 1) for i in range(args.burst)], fireOnOneErrback=True
            )
            burstElapsed, burstCpu = time.perf_counter() - began, time.process_time() - cpu
            lag.stop()
            assert [value for _, value in results] == [i + 1 for i in range(args.burst)]
        finally:
            await submitter.stop()
        figures.update(
            seqPerSecond=args.seq / seqElapsed,
            seqMedianMs=statistics.median(latencies) * 1000,
            burstPerSecond=args.burst / burstElapsed,
            burstMaxLagMs=lag.maxLag * 1000,
            burstCpuMsPerTask=burstCpu * 1000 / args.burst,
        )

    def report(failure: object) -> None:
        failure.printTraceback()  # type: ignore[attr-defined]

    def begin() -> None:
        d = ensureDeferred(measure())
        d.addErrback(report).addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(begin)
    reactor.run()
    if not figures:
        raise SystemExit("the measurement failed (traceback above)")
    return figures


# -- the orchestrator ---------------------------------------------------------------------


class Bench:
    """Starts Redis once, and per measurement a worker and a client process."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        from peek_plugin_base.testing.FreePort import freeTcpPort
        from peek_plugin_base.testing.RedisTestServer import RedisTestServer

        self.args = args
        self.work = work
        self.freePort = freeTcpPort
        self.codeDir = work / "code"
        writeTaskCode(self.codeDir)
        self.redis = RedisTestServer()
        self.redis.start()
        self.count = 0

    def close(self) -> None:
        self.redis.stop()

    def env(self, repo: Path, **extra: str) -> dict[str, str]:
        paths = [str(self.codeDir), str(repo)]
        return dict(os.environ, PYTHONPATH=os.pathsep.join(paths), PYTHONUNBUFFERED="1", **extra)

    def measure(self, mode: str, procs: int) -> dict:
        """Start the worker of ``mode`` with ``procs`` pool processes, run its client."""
        self.count += 1
        self.redis.flush()
        repo = self.args.before if mode.startswith("before") else REPO_ROOT
        embedded = mode.endswith("-embedded")
        root = self.work / f"run{self.count}-{mode}-{procs}"
        root.mkdir()
        if embedded:
            from peek_platform.celery.settings import embeddedBrokerUrl, embeddedResultUrl

            logicHome = root / "peek-logic-service.home"
            broker, result = embeddedBrokerUrl(logicHome), embeddedResultUrl(logicHome)
        else:
            broker, result = self.redis.url(0), self.redis.url(1)
        log = (root / "worker.txt").open("w")
        if mode == "plain":
            env = self.env(repo, WRT_BROKER=broker, WRT_RESULT=result)
            argv = [
                sys.executable, "-m", "celery", "-A", PLAIN_MODULE, "worker",
                "--pool=prefork", f"--concurrency={procs}", "--loglevel=WARNING",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ]  # fmt: skip
        else:
            env = self.env(repo)
            home = root / "peek-worker-service.home"
            home.mkdir()
            config = {
                "plugin": {"enabled": [PLUGIN]},
                "celery": {"brokerUrl": broker, "resultUrl": result, "workerConcurrency": procs},
                "logging": {"level": "WARNING"},
                "dataExchange": {"secret": "worker-bench-secret-0123", "port": self.freePort()},
            }
            (home / "config.json").write_text(json.dumps(config))
            argv = [sys.executable, "-m", "peek_worker_service", "--home", str(home)]
        worker = subprocess.Popen(argv, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT)
        try:
            client = [
                sys.executable, str(Path(__file__).resolve()), "--client",
                "plain" if mode == "plain" else "ours", "--broker", broker, "--result", result,
                "--seq", str(self.args.seq), "--burst", str(self.args.burst),
            ]  # fmt: skip
            done = subprocess.run(
                client, env=env, cwd=root, capture_output=True, text=True, timeout=CLIENT_TIMEOUT
            )
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode != 0 or not lines:
                raise RuntimeError(
                    f"{mode} client failed ({done.returncode}):\n{done.stdout}\n"
                    f"{done.stderr[-3000:]}\nworker log: {root / 'worker.txt'}"
                )
            return json.loads(lines[-1])
        finally:
            worker.terminate()
            try:
                worker.wait(60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            log.close()


METRICS = (
    ("seqPerSecond", "seq/s", "{:8.1f}"),
    ("seqMedianMs", "seq p50 ms", "{:10.2f}"),
    ("burstPerSecond", "burst/s", "{:8.1f}"),
    ("burstMaxLagMs", "reactor lag ms", "{:14.0f}"),
    ("burstCpuMsPerTask", "client CPU ms/task", "{:18.2f}"),
)


def medians(results: list[dict]) -> dict:
    if not results:
        return {}
    return {
        key: statistics.median(r[key] for r in results)
        for key, _, _ in METRICS
        if all(key in r for r in results)
    }


def printTable(args: argparse.Namespace, results: dict) -> dict:
    """Medians per worker size and mode, ratios to plain Celery; the ratios as a dict."""
    print(
        f"\nMedians of {args.rounds} round(s); {args.seq} sequential, {args.burst} in flight "
        "(Redis unless -embedded)"
    )
    header = f"{'procs':5s} {'mode':16s}" + "".join(
        f" {label:>{len(fmt.format(0))}s}" for _, label, fmt in METRICS
    )
    print(header)
    ratios: dict = {}
    for procs in args.procs:
        med = {mode: medians(results[procs][mode]) for mode in args.modes}
        for mode in args.modes:
            row = f"{procs:<5d} {mode:16s}"
            for key, _, fmt in METRICS:
                value = med[mode].get(key)
                row += " " + (
                    fmt.format(value)
                    if value is not None
                    else " " * (len(fmt.format(0)) - 3) + "n/a"
                )
            print(row)
        if "plain" not in med:
            continue
        plain = med["plain"]
        for mode in args.modes:
            if mode == "plain" or not med[mode] or not plain:
                continue
            ratio = {
                "seq": med[mode]["seqPerSecond"] / plain["seqPerSecond"],
                "burst": med[mode]["burstPerSecond"] / plain["burstPerSecond"],
            }
            ratios[f"{procs}:{mode}"] = ratio
            print(
                f"      {mode}/plain: sequential {ratio['seq']:.2f}x, "
                f"{args.burst} in flight {ratio['burst']:.2f}x"
            )
    return ratios


def orchestrate(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(REPO_ROOT))
    if args.before is not None and not any(m.startswith("before") for m in args.modes):
        args.modes.append("before")
    results: dict = {procs: {mode: [] for mode in args.modes} for procs in args.procs}
    with tempfile.TemporaryDirectory(prefix="peek-worker-bench-") as tmp:
        bench = Bench(args, Path(tmp))
        try:
            for n in range(args.rounds):
                # Every other round runs the modes in reverse, so no mode always goes first.
                modes = args.modes if n % 2 == 0 else list(reversed(args.modes))
                for procs in args.procs:
                    for mode in modes:
                        try:
                            figures = bench.measure(mode, procs)
                        except (RuntimeError, subprocess.TimeoutExpired) as e:
                            print(f"round {n + 1} {procs} proc {mode}: failed: {e}", flush=True)
                            continue
                        results[procs][mode].append(figures)
                        print(
                            f"round {n + 1} {procs} proc {mode:16s} {json.dumps(figures)}",
                            flush=True,
                        )
        finally:
            bench.close()
    ratios = printTable(args, results)
    print(
        json.dumps(
            {
                "seq": args.seq,
                "burst": args.burst,
                "rounds": args.rounds,
                "medians": {
                    f"{procs}:{mode}": medians(results[procs][mode])
                    for procs in args.procs
                    for mode in args.modes
                },
                "ratios": ratios,
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seq", type=int, default=200)
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--procs", default="1,2", help="pool sizes, comma-separated")
    parser.add_argument(
        "--modes",
        default="plain,ours,ours-embedded",
        help="of plain, ours, ours-embedded, before, before-embedded",
    )
    parser.add_argument(
        "--before", type=Path, help="another checkout, for the before modes (adds before)"
    )
    parser.add_argument("--client", choices=["plain", "ours"], help=argparse.SUPPRESS)
    parser.add_argument("--broker", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client is not None:
        figures = plainClient(args) if args.client == "plain" else oursClient(args)
        print(json.dumps(figures), flush=True)
        return
    args.procs = [int(p) for p in args.procs.split(",")]
    args.modes = args.modes.split(",")
    if any(m.startswith("before") for m in args.modes) and args.before is None:
        parser.error("the before modes need --before DIR")
    orchestrate(args)


if __name__ == "__main__":
    main()
