"""Worker round trips: logic submits Celery tasks, a worker service runs them, results return.

For each broker (Redis, the embedded SQLite broker) and each worker size (1 and 2 pool
processes in one worker service) it measures, from the logic side (a real reactor and a
``CeleryTaskSubmitter``):

* sequential: ``--seq`` tasks one after another -> round trips/s and median latency;
* concurrent: ``--burst`` tasks submitted at once -> round trips/s, and how late a 10 ms
  heartbeat on logic's reactor got meanwhile.

The task is ``add(x, y)``, so the figures are platform overhead. Needs ``redis-server``.

    python bench/worker_roundtrip.py [--seq 100] [--burst 500]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness

REPO_ROOT = harness.REPO_ROOT
sys.path.insert(0, str(REPO_ROOT))

from twisted.internet import reactor  # noqa: E402
from twisted.internet.defer import DeferredList, ensureDeferred  # noqa: E402
from twisted.internet.task import LoopingCall  # noqa: E402
from twisted.internet.threads import deferToThread  # noqa: E402

from peek_logic_service.celery.submitter import CeleryTaskSubmitter  # noqa: E402
from peek_platform.celery.app_config import newCeleryApp, prepareLocalStores  # noqa: E402
from peek_platform.celery.settings import (  # noqa: E402
    CelerySettings,
    embeddedBrokerUrl,
    embeddedResultUrl,
)

PLUGIN = "peek_plugin_wbench"
TASK = f"{PLUGIN}.tasks.add"

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


def writePlugin(directory: Path) -> None:
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


def startWorker(root: Path, celery: dict, concurrency: int, env: dict) -> subprocess.Popen:
    """Start a worker service and block until its Celery child is ready."""
    home = root / f"w{concurrency}-{time.monotonic_ns()}" / "peek-worker-service.home"
    home.mkdir(parents=True)
    config = {
        "plugin": {"enabled": [PLUGIN]},
        "celery": dict(celery, workerConcurrency=concurrency),
        "logging": {"level": "WARNING"},
        "dataExchange": {"secret": "worker-bench-secret-0123", "port": harness.freePort()},
    }
    (home / "config.json").write_text(json.dumps(config))
    process = subprocess.Popen(
        [sys.executable, "-m", "peek_worker_service", "--home", str(home)],
        env=env,
        stdout=(home / "out.txt").open("w"),
        stderr=subprocess.STDOUT,
    )
    time.sleep(0.5)
    return process


class LagProbe:
    """How late a 10 ms heartbeat on logic's reactor gets while tasks are in flight: a
    reactor blocked by result handling would show it."""

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


async def measure(settings: CelerySettings, seq: int, burst: int) -> dict:
    app = newCeleryApp(settings)
    submitter = CeleryTaskSubmitter(app, reactor, resultTimeoutSeconds=60)
    submitter.start()
    try:
        # Warm up until the worker answers (it may still be starting).
        await submitter.submit(TASK, 0, 0)
        latencies = []
        began = time.perf_counter()
        for i in range(seq):
            t = time.perf_counter()
            assert await submitter.submit(TASK, i, 1) == i + 1
            latencies.append(time.perf_counter() - t)
        seqElapsed = time.perf_counter() - began
        lag = LagProbe()
        began = time.perf_counter()
        results = await DeferredList(
            [submitter.submit(TASK, i, 1) for i in range(burst)], fireOnOneErrback=True
        )
        burstElapsed = time.perf_counter() - began
        lag.stop()
        assert [value for _, value in results] == [i + 1 for i in range(burst)]
    finally:
        await submitter.stop()
    return {
        "seqPerSecond": seq / seqElapsed,
        "seqMedianMs": statistics.median(latencies) * 1000,
        "burstPerSecond": burst / burstElapsed,
        "burstMaxLagMs": lag.maxLag * 1000,
    }


async def run(args: argparse.Namespace, work: Path) -> None:
    pluginDir = work / "plugins"
    writePlugin(pluginDir)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(pluginDir), str(REPO_ROOT)]))
    redisPort = harness.freePort()
    redis = subprocess.Popen(
        [
            shutil.which("redis-server") or "/usr/bin/redis-server",
            "--port",
            str(redisPort),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        cwd=work,
    )
    try:
        for broker in ("redis", "embedded"):
            for concurrency in (1, 2):
                logicHome = work / f"{broker}-{concurrency}" / "peek-logic-service.home"
                if broker == "redis":
                    db = concurrency * 2
                    celery = {
                        "brokerUrl": f"redis://127.0.0.1:{redisPort}/{db}",
                        "resultUrl": f"redis://127.0.0.1:{redisPort}/{db + 1}",
                    }
                else:
                    celery = {
                        "brokerUrl": embeddedBrokerUrl(logicHome),
                        "resultUrl": embeddedResultUrl(logicHome),
                    }
                settings = CelerySettings(celery["brokerUrl"], celery["resultUrl"])
                prepareLocalStores(settings)
                worker = await deferToThread(startWorker, work, celery, concurrency, env)
                try:
                    figures = await measure(settings, args.seq, args.burst)
                finally:
                    worker.terminate()
                    await deferToThread(worker.wait, 30)
                print(
                    f"{broker:9s} {concurrency} proc: sequential {figures['seqPerSecond']:7.1f}/s "
                    f"(median {figures['seqMedianMs']:6.1f} ms), "
                    f"{args.burst} concurrent {figures['burstPerSecond']:7.1f}/s "
                    f"(logic reactor at most {figures['burstMaxLagMs']:.0f} ms late)",
                    flush=True,
                )
    finally:
        redis.terminate()
        redis.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seq", type=int, default=100)
    parser.add_argument("--burst", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="peek-worker-bench-") as tmp:

        def report(failure: object) -> None:
            failure.printTraceback()

        def begin() -> None:
            d = ensureDeferred(run(args, Path(tmp)))
            d.addErrback(report).addBoth(lambda _: reactor.stop())

        reactor.callWhenRunning(begin)
        reactor.run()


if __name__ == "__main__":
    main()
