"""WorkerCeleryExtension: starts the Celery child, relays its lines, stops it once."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from twisted.internet.error import ProcessDone
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure

from peek_platform.celery.settings import CelerySettings
from peek_platform.process.context import ServiceContext
from peek_platform.services import WORKER
from peek_worker_service.celery_extension import (
    WorkerCeleryExtension,
    celeryChildCommand,
    relayChildLine,
)
from peek_worker_service.celery_main import workerArgv


class FakeTransport:
    """A child process transport recording signals."""

    pid = 4242

    def __init__(self) -> None:
        self.signals: list[str] = []

    def signalProcess(self, name: str) -> None:
        self.signals.append(name)


def test_child_command_runs_celery_main_for_the_home():
    """The child is ``python -m peek_worker_service.celery_main --home HOME``, unbuffered."""
    command = celeryChildCommand(Path("/h/w"), python="/py")
    assert command.argv == ("/py", "-m", "peek_worker_service.celery_main", "--home", "/h/w")
    assert command.env["PYTHONUNBUFFERED"] == "1"


def test_worker_argv_uses_prefork_and_configured_concurrency():
    """The Celery worker runs a prefork pool with the configured concurrency."""
    argv = workerArgv(CelerySettings("redis://h/0", "redis://h/1", workerConcurrency=5), "INFO")
    assert "--pool=prefork" in argv
    assert "--concurrency=5" in argv


def test_relayed_lines_keep_the_childs_level(caplog):
    """A child line starting with a level name is logged at that level, others at INFO."""
    with caplog.at_level(logging.DEBUG, logger="peek_worker_service.celery"):
        relayChildLine("celery", "ERROR MainProcess x: broken")
        relayChildLine("celery", "banner text")
    assert [r.levelno for r in caplog.records] == [logging.ERROR, logging.INFO]


def test_shutdown_sends_one_sigterm_and_stop_waits_for_exit(tmp_path):
    """Reactor shutdown sends SIGTERM once; stopAfterPlugins fires when the child exits."""
    reactor = MemoryReactorClock()
    transports: list[FakeTransport] = []
    protocols = []

    def spawn(protocol, command):
        protocols.append(protocol)
        transports.append(FakeTransport())
        return transports[-1]

    ctx = ServiceContext(
        spec=WORKER,
        home=tmp_path,
        config={"plugin.lifecycleDeadlineSeconds": 30.0},
        reactor=reactor,
    )
    extension = WorkerCeleryExtension(spawn=spawn, python=sys.executable)
    extension.startBeforePlugins(ctx)
    assert len(transports) == 1
    triggers = reactor.triggers["before"]["shutdown"]
    for trigger, args, kwargs in triggers:
        trigger(*args, **kwargs)
    stopped = extension.stopAfterPlugins(ctx)
    assert transports[0].signals == ["TERM"]
    assert not stopped.called
    protocols[0].processEnded(Failure(ProcessDone(0)))
    assert stopped.called


def test_child_still_running_is_killed_before_the_lifecycle_deadline(tmp_path):
    """A Celery child ignoring SIGTERM gets SIGKILL at 0.8 x plugin.lifecycleDeadlineSeconds
    after it, so the worker's stop step finishes inside its own deadline."""
    reactor = MemoryReactorClock()
    transports: list[FakeTransport] = []
    protocols = []

    def spawn(protocol, command):
        protocols.append(protocol)
        transports.append(FakeTransport())
        return transports[-1]

    ctx = ServiceContext(
        spec=WORKER,
        home=tmp_path,
        config={"plugin.lifecycleDeadlineSeconds": 10.0},
        reactor=reactor,
    )
    extension = WorkerCeleryExtension(spawn=spawn, python=sys.executable)
    extension.startBeforePlugins(ctx)
    stopped = extension.stopAfterPlugins(ctx)
    assert transports[0].signals == ["TERM"]
    reactor.advance(7.9)
    assert transports[0].signals == ["TERM"]
    reactor.advance(0.1)
    assert transports[0].signals == ["TERM", "KILL"]
    protocols[0].processEnded(Failure(ProcessDone(0)))
    assert stopped.called


#: Run as the Celery child in a fresh worker home, with Celery's worker replaced by one
#: that says it is ready and then waits for SIGTERM (the warm shutdown signal).
CHILD_SCRIPT = """
import signal, sys, threading
from peek_plugin_base.worker.CeleryApp import celeryApp
from peek_worker_service import celery_main

def worker_main(argv):
    terminated = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: terminated.set())
    print("ready", flush=True)
    while not terminated.wait(0.05):
        pass
    print("SIGTERM", flush=True)

celeryApp.worker_main = worker_main
sys.exit(celery_main.main(["--home", sys.argv[1]]))
"""

#: The service process: starts the child with its stdout, waits for it to be ready, exits.
PARENT_SCRIPT = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], stdout=sys.stdout)
print(child.pid, flush=True)
sys.stdin.readline()
"""


def test_celery_child_stops_itself_when_its_service_process_is_gone(tmp_path):
    """The Celery child sends itself SIGTERM (warm shutdown) once the service process that
    started it exits, so a worker never outlives its service."""
    home = tmp_path / "worker"
    home.mkdir()
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT_SCRIPT, CHILD_SCRIPT, str(home)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    childPid = int(parent.stdout.readline())
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in parent.stdout:
            lines.append(line)
            ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(60), "the child did not get to the Celery worker"
        parent.stdin.close()
        parent.wait(timeout=30)
        # The pipe ends when the child, which shares the parent's stdout, has exited too.
        reader.join(timeout=30)
        assert lines == ["ready\n", "SIGTERM\n"]
    finally:
        if reader.is_alive():  # the child still holds the pipe, so its pid is still its own
            with contextlib.suppress(ProcessLookupError):
                os.kill(childPid, signal.SIGKILL)
        parent.kill()
        parent.wait()
        reader.join(timeout=30)
        parent.stdout.close()
