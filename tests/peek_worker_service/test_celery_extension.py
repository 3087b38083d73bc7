"""WorkerCeleryExtension: starts the Celery child, relays its lines, stops it once."""

from __future__ import annotations

import logging
import sys
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
