"""A stand-in logic service for the worker integration tests and the benchmark.

Run as ``python logic_driver.py SCENARIO --home LOGIC_HOME``; it configures a Celery app from
the logic ``config.json`` in LOGIC_HOME, runs a real reactor with a ``CeleryTaskSubmitter``,
performs the scenario and prints one JSON object on stdout. Scenarios:

* ``calls JSON``: submit each ``[taskName, args]`` of the JSON list concurrently; print each
  outcome as ``{"ok": result}`` or ``{"error": type, "remoteType", "message"}``.
* ``burst N TASK ARGS_JSON``: submit N copies at once while a 10 ms LoopingCall measures
  its worst lateness; print the results, the max lag and the elapsed seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from twisted.internet import reactor, task
from twisted.internet.defer import DeferredList, ensureDeferred

from peek_logic_service.celery.submitter import CeleryTaskSubmitter
from peek_platform.celery.app_config import newCeleryApp, prepareLocalStores
from peek_platform.celery.settings import celerySettingsFromConfig
from peek_platform.config import loadServiceConfig
from peek_platform.services import LOGIC

#: Heartbeat period of the lag probe.
HEARTBEAT_SECONDS = 0.01


def _outcome(success: bool, value: Any) -> dict:
    """JSON form of one Deferred outcome."""
    if success:
        return {"ok": value}
    error = value.value
    return {
        "error": type(error).__name__,
        "remoteType": getattr(error, "remoteType", None),
        "remoteMessage": getattr(error, "remoteMessage", None),
        "message": str(error),
    }


class LagProbe:
    """Records the worst lateness of a 10 ms LoopingCall on the reactor."""

    def __init__(self) -> None:
        self.maxLag = 0.0
        self._last = time.monotonic()
        self._loop = task.LoopingCall(self._beat)

    def _beat(self) -> None:
        now = time.monotonic()
        self.maxLag = max(self.maxLag, now - self._last - HEARTBEAT_SECONDS)
        self._last = now

    def start(self) -> None:
        self._last = time.monotonic()
        self._loop.start(HEARTBEAT_SECONDS, now=False)

    def stop(self) -> None:
        self._loop.stop()


async def _scenario(args: argparse.Namespace, submitter: CeleryTaskSubmitter) -> dict:
    if args.scenario == "calls":
        calls = json.loads(args.payload)
        ds = [submitter.submit(name, *taskArgs) for name, taskArgs in calls]
        results = await DeferredList(ds, consumeErrors=True)
        return {"outcomes": [_outcome(ok, value) for ok, value in results]}
    probe = LagProbe()
    probe.start()
    began = time.monotonic()
    taskArgs = json.loads(args.taskArgs)
    ds = [submitter.submit(args.payload, *taskArgs) for _ in range(args.count)]
    results = await DeferredList(ds, consumeErrors=True)
    elapsed = time.monotonic() - began
    probe.stop()
    return {
        "outcomes": [_outcome(ok, value) for ok, value in results],
        "maxLagSeconds": probe.maxLag,
        "elapsedSeconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["calls", "burst"])
    parser.add_argument("payload")
    parser.add_argument("taskArgs", nargs="?", default="[]")
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--count", type=int, default=1)
    args = parser.parse_args()

    config = loadServiceConfig(LOGIC, args.home)
    settings = celerySettingsFromConfig(config, LOGIC, args.home)
    prepareLocalStores(settings)
    app = newCeleryApp(settings)
    submitter = CeleryTaskSubmitter(
        app, reactor, resultTimeoutSeconds=settings.resultTimeoutSeconds
    )
    report: dict = {}

    async def run() -> None:
        submitter.start()
        try:
            report.update(await _scenario(args, submitter))
        finally:
            await submitter.stop()
            reactor.stop()

    reactor.callWhenRunning(lambda: ensureDeferred(run()).addErrback(_crash))
    reactor.run()
    print(json.dumps(report), flush=True)


def _crash(failure: Any) -> None:
    failure.printTraceback(file=sys.stderr)
    report = {"crash": failure.getErrorMessage()}
    print(json.dumps(report), flush=True)
    reactor.stop()


if __name__ == "__main__":
    main()
