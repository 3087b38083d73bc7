"""Load of ``bench/chaos.py``: logic submits tasks to the worker, the agent calls logic.

Not shipped: the bench puts this directory on ``PYTHONPATH`` and enables the plugin on
logic, agent and worker. Rates come from ``CHAOS_TASK_RATE`` and ``CHAOS_RPC_RATE`` (per
second); every outcome is appended as a JSON line to a file in ``CHAOS_DIR``, which the
bench reads: logic's ``tasks-<pid>.jsonl`` (``sub``, then ``res`` or ``err`` per task id),
the agent's ``rpc-<pid>.jsonl`` (one line per call of noop's ``noopAddOnLogic``) and the
workers' ``ran.jsonl`` (one line per finished run, from ``tasks.py``).
"""

import json
import os
import time

from twisted.internet import reactor, task
from twisted.internet.defer import Deferred

from peek_plugin_base.agent.PluginAgentEntryHookABC import PluginAgentEntryHookABC
from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC
from peek_plugin_base.worker.PluginWorkerEntryHookABC import PluginWorkerEntryHookABC

#: Tasks logic keeps outstanding at most; at the cap a tick submits nothing.
MAX_PENDING_TASKS = 200


class _Log:
    """Appends JSON lines to ``$CHAOS_DIR/<prefix>-<pid>.jsonl``, unbuffered."""

    def __init__(self, prefix: str) -> None:
        path = os.path.join(os.environ["CHAOS_DIR"], f"{prefix}-{os.getpid()}.jsonl")
        self._file = open(path, "a", buffering=1, encoding="utf-8")

    def write(self, **fields) -> None:
        self._file.write(json.dumps(fields) + "\n")

    def close(self) -> None:
        self._file.close()


def _loop(rateEnv: str, tick) -> task.LoopingCall | None:
    rate = float(os.environ.get(rateEnv, "0"))
    if rate <= 0:
        return None
    loop = task.LoopingCall(tick)
    loop.clock = reactor
    loop.start(1.0 / rate, now=False)
    return loop


class LogicHook(PluginLogicEntryHookABC):
    """Submits ``chaosTask`` at ``CHAOS_TASK_RATE`` and logs each submission's outcome."""

    def load(self) -> None:
        pass

    def start(self) -> None:
        self._log = _Log("tasks")
        self._count = 0
        self._pending = 0
        self._loop = _loop("CHAOS_TASK_RATE", self._tick)

    def _tick(self) -> None:
        from peek_plugin_chaosload.tasks import chaosTask

        if self._pending >= MAX_PENDING_TASKS:
            return
        self._count += 1
        taskId = f"{os.getpid()}-{self._count}"
        self._pending += 1
        self._log.write(e="sub", id=taskId, t=time.time())
        d = self.platform.submitCeleryTask(chaosTask, taskId)
        d.addCallbacks(self._done, self._failed, errbackArgs=(taskId,))

    def _done(self, taskId: str) -> None:
        self._pending -= 1
        self._log.write(e="res", id=taskId, t=time.time())

    def _failed(self, failure, taskId: str) -> None:
        self._pending -= 1
        self._log.write(e="err", id=taskId, t=time.time(), why=failure.getErrorMessage()[:200])

    def stop(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._log.close()

    def unload(self) -> None:
        pass


class AgentHook(PluginAgentEntryHookABC):
    """Calls noop's ``noopAddOnLogic`` at ``CHAOS_RPC_RATE``; logs each call's outcome."""

    def load(self) -> None:
        pass

    def start(self) -> None:
        self._log = _Log("rpc")
        self._loop = _loop("CHAOS_RPC_RATE", self._tick)

    def _tick(self) -> None:
        from peek_plugin_noop._private.logic.agent_handlers.RpcForAgent import RpcForAgent

        started = time.time()
        d: Deferred = RpcForAgent.noopAddOnLogic(2, 3)
        d.addCallbacks(
            lambda total: self._log.write(t=started, s=time.time() - started, ok=total == 5),
            lambda failure: self._log.write(
                t=started, s=time.time() - started, ok=False, why=failure.type.__name__
            ),
        )

    def stop(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._log.close()

    def unload(self) -> None:
        pass


class WorkerHook(PluginWorkerEntryHookABC):
    """Makes the worker import ``chaosTask``."""

    def load(self) -> None:
        pass

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def unload(self) -> None:
        pass

    @property
    def celeryAppIncludes(self) -> list[str]:
        return ["peek_plugin_chaosload.tasks"]


def peekLogicEntryHook():
    return LogicHook


def peekAgentEntryHook():
    return AgentHook


def peekWorkerEntryHook():
    return WorkerHook
