"""A stand-in logic service for the worker integration tests and the benchmark.

Run as ``python logic_driver.py SCENARIO --home LOGIC_HOME``; it configures a Celery app from
the logic ``config.json`` in LOGIC_HOME, runs a real reactor with a ``CeleryTaskSubmitter``,
performs the scenario and prints one JSON object on stdout. Scenarios:

* ``calls JSON``: submit each ``[taskName, args]`` of the JSON list concurrently; print each
  outcome as ``{"ok": result}`` or ``{"error": type, "remoteType", "message"}``.
* ``burst TASK ARGS_JSON --count N``: submit N copies at once; print their outcomes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import DeferredList, ensureDeferred

from peek_logic_service.celery.submitter import CeleryTaskSubmitter
from peek_platform.celery.app_config import newCeleryApp, prepareLocalStores
from peek_platform.celery.settings import celerySettingsFromConfig
from peek_platform.config import loadServiceConfig
from peek_platform.services import LOGIC


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


async def _scenario(args: argparse.Namespace, submitter: CeleryTaskSubmitter) -> dict:
    if args.scenario == "calls":
        calls = json.loads(args.payload)
        ds = [submitter.submit(name, *taskArgs) for name, taskArgs in calls]
        results = await DeferredList(ds, consumeErrors=True)
        return {"outcomes": [_outcome(ok, value) for ok, value in results]}
    taskArgs = json.loads(args.taskArgs)
    ds = [submitter.submit(args.payload, *taskArgs) for _ in range(args.count)]
    results = await DeferredList(ds, consumeErrors=True)
    return {"outcomes": [_outcome(ok, value) for ok, value in results]}


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
