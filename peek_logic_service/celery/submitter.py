"""Submit Celery tasks from the reactor thread and get each result as a Deferred.

One background thread does all the blocking work: it publishes submitted tasks to the
broker and polls the result store for every pending task at once (one ``MGET`` on Redis),
then hands finished results back to the reactor in batches with ``callFromThread``. So
any number of pending tasks costs one thread, and the reactor never waits on the broker.

Tasks are published without the result backend's per-task subscription (Redis pub/sub):
results are read by polling, so nothing accumulates on an unread subscription socket.
Each result is deleted from the result store once delivered.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from celery import Celery, states
from celery.backends.base import BaseKeyValueStoreBackend
from twisted.internet.defer import Deferred, fail
from twisted.python.failure import Failure

from peek_logic_service.celery.errors import (
    CeleryPublishError,
    CeleryResultTimeout,
    CeleryTaskError,
    CeleryUnavailable,
)

logger = logging.getLogger(__name__)

#: Seconds between two polls of the result store while tasks are pending.
DEFAULT_POLL_INTERVAL = 0.02
#: Seconds before polling again after the result store failed.
RETRY_AFTER_ERROR_SECONDS = 1.0
#: States in which a task has finished without a usable result.
_FAILED_STATES = frozenset({states.FAILURE, states.REVOKED, states.REJECTED})


@dataclass(frozen=True)
class _Submit:
    taskId: str
    name: str
    args: tuple
    kwargs: dict


@dataclass(frozen=True)
class _Forget:
    taskId: str


_STOP = object()


def _remoteTypeName(excType: str, excModule: str | None) -> str:
    """``ValueError`` for builtins, else ``package.module.ErrorClass``."""
    if not excModule or excModule == "builtins":
        return excType
    return f"{excModule}.{excType}"


def _messageOf(args: Any) -> str:
    """The message ``str(exception)`` would give for exception ``args``."""
    if isinstance(args, list | tuple):
        if len(args) == 1:
            return str(args[0])
        return "" if not args else str(tuple(args))
    return str(args)


def outcomeOf(name: str, taskId: str, meta: dict) -> tuple[bool, Any] | None:
    """``(True, result)``, ``(False, CeleryTaskError)`` or None while the task is not done."""
    status = meta.get("status")
    if status == states.SUCCESS:
        return True, meta.get("result")
    if status not in _FAILED_STATES:
        return None
    result = meta.get("result")
    if isinstance(result, dict) and "exc_type" in result:
        remoteType = _remoteTypeName(result["exc_type"], result.get("exc_module"))
        message = _messageOf(result.get("exc_message", ""))
    elif isinstance(result, BaseException):
        cls = type(result)
        remoteType = _remoteTypeName(cls.__qualname__, cls.__module__)
        message = str(result)
    else:
        remoteType, message = str(status), str(result)
    return False, CeleryTaskError(name, taskId, remoteType, message)


class CeleryTaskSubmitter:
    """Submits tasks on ``app`` and delivers results as Deferreds on ``reactor``.

    ``submit`` is called on the reactor thread; ``start`` before the first submit and
    ``stop`` when the service stops (pending Deferreds then fail with ``CeleryUnavailable``).
    """

    def __init__(
        self,
        app: Celery,
        reactor: Any,
        *,
        resultTimeoutSeconds: float,
        pollIntervalSeconds: float = DEFAULT_POLL_INTERVAL,
    ) -> None:
        self._app = app
        self._reactor = reactor
        self._resultTimeout = resultTimeoutSeconds
        self._pollInterval = pollIntervalSeconds
        self._commands: queue.SimpleQueue[Any] = queue.SimpleQueue()
        #: Reactor thread only: task id → (task name, Deferred) awaiting a result.
        self._waiting: dict[str, tuple[str, Deferred[Any]]] = {}
        self._thread: threading.Thread | None = None
        self._stopped: Deferred[None] | None = None
        #: Tasks accepted by ``submit`` (reactor thread), and of those, the ones whose
        #: Deferred succeeded or failed (task error, publish error, timeout, stop, cancel).
        self.submittedCount = 0
        self.succeededCount = 0
        self.failedCount = 0

    @property
    def pendingCount(self) -> int:
        """Tasks submitted whose Deferred has not fired yet."""
        return len(self._waiting)

    def start(self) -> None:
        """Start the background thread that publishes tasks and polls for results."""
        if self._thread is not None:
            raise RuntimeError("CeleryTaskSubmitter.start() called twice")
        self._stopped = Deferred()
        self._thread = threading.Thread(target=self._run, name="peek-celery-submitter", daemon=True)
        self._thread.start()

    def submit(self, task: Any, *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Queue ``task`` (a Celery task or its name) with arguments; a Deferred of its result.

        The Deferred fails with ``CeleryTaskError`` (the remote type and message) if the task
        raised, ``CeleryResultTimeout`` after ``resultTimeoutSeconds`` and
        ``CeleryPublishError`` if the broker refused it. Arguments must be JSON values.
        """
        name = task if isinstance(task, str) else task.name
        if self._thread is None or self._stopped is None or self._stopped.called:
            return fail(
                CeleryUnavailable(
                    f"cannot submit Celery task {name}: the task submitter is not running "
                    "(the logic service is starting or stopping)"
                )
            )
        taskId = str(uuid.uuid4())

        def cancel(_: Deferred[Any]) -> None:
            self._waiting.pop(taskId, None)
            self._commands.put(_Forget(taskId))

        def timedOut(result: Any, timeout: float) -> Any:
            raise CeleryResultTimeout(name, taskId, timeout)

        d: Deferred[Any] = Deferred(canceller=cancel)
        self._waiting[taskId] = (name, d)
        d.addTimeout(self._resultTimeout, self._reactor, onTimeoutCancel=timedOut)
        d.addCallbacks(self._succeeded, self._failed)
        self.submittedCount += 1
        self._commands.put(_Submit(taskId, name, tuple(args), dict(kwargs)))
        return d

    def _succeeded(self, result: Any) -> Any:
        """Count a task that succeeded; its result passes on unchanged."""
        self.succeededCount += 1
        return result

    def _failed(self, failure: Failure) -> Failure:
        """Count a task that failed; the failure passes on unchanged."""
        self.failedCount += 1
        return failure

    def stop(self) -> Deferred[None]:
        """Stop the thread; fail every pending Deferred with ``CeleryUnavailable``."""
        if self._thread is None or self._stopped is None:
            raise RuntimeError("CeleryTaskSubmitter.stop() called before start()")
        if not self._stopped.called:
            self._commands.put(_STOP)
        stopped: Deferred[None] = Deferred()

        def fireStopped(result: Failure | None) -> Failure | None:
            stopped.callback(None)
            return result

        self._stopped.addBoth(fireStopped)
        return stopped

    # -- reactor thread -----------------------------------------------------------------

    def _deliver(self, outcomes: list[tuple[str, bool, Any]]) -> None:
        """Fire the Deferreds of finished tasks (reactor thread)."""
        for taskId, ok, value in outcomes:
            waiting = self._waiting.pop(taskId, None)
            if waiting is None:
                continue  # timed out or cancelled meanwhile
            if ok:
                waiting[1].callback(value)
            else:
                waiting[1].errback(Failure(value))

    def _threadEnded(self) -> None:
        """Fail what is still pending and fire ``stop``'s Deferred (reactor thread)."""
        waiting, self._waiting = self._waiting, {}
        for taskId, (name, d) in waiting.items():
            d.errback(
                Failure(
                    CeleryUnavailable(
                        f"Celery task {name} ({taskId}) was still pending when the logic "
                        "service stopped; its result will not be delivered"
                    )
                )
            )
        assert self._stopped is not None
        self._stopped.callback(None)

    # -- submitter thread ---------------------------------------------------------------

    def _run(self) -> None:
        """Publish, poll and deliver until told to stop."""
        pending: dict[str, str] = {}
        nextPoll = time.monotonic()
        try:
            while True:
                timeout = max(0.0, nextPoll - time.monotonic()) if pending else None
                if not self._handleCommands(pending, timeout):
                    break
                if pending and time.monotonic() >= nextPoll:
                    nextPoll = time.monotonic() + self._pollOnce(pending)
        finally:
            self._reactor.callFromThread(self._threadEnded)

    def _handleCommands(self, pending: dict[str, str], timeout: float | None) -> bool:
        """Wait up to ``timeout`` for commands, then run all queued; False on stop."""
        try:
            command = self._commands.get(timeout=timeout)
        except queue.Empty:
            return True
        commands = [command]
        while True:
            try:
                commands.append(self._commands.get_nowait())
            except queue.Empty:
                break
        rejected: list[tuple[str, bool, Any]] = []
        for command in commands:
            if command is _STOP:
                return False
            if isinstance(command, _Forget):
                pending.pop(command.taskId, None)
                continue
            try:
                self._publish(command)
            except Exception as e:
                error = CeleryPublishError(
                    f"Celery task {command.name} ({command.taskId}) could not be queued on "
                    f"the broker ({type(e).__name__}: {e}); check celery.brokerUrl"
                )
                error.__cause__ = e
                rejected.append((command.taskId, False, error))
                continue
            pending[command.taskId] = command.name
        if rejected:
            self._reactor.callFromThread(self._deliver, rejected)
        return True

    def _pollOnce(self, pending: dict[str, str]) -> float:
        """Poll once; the seconds until the next poll (longer after a result store error)."""
        try:
            self._poll(pending)
        except Exception:
            # Pending tasks keep their deadlines, so a lasting outage ends in timeouts.
            logger.warning(
                "Reading %d Celery result(s) from the result store failed (check "
                "celery.resultUrl); retrying in %g s",
                len(pending),
                RETRY_AFTER_ERROR_SECONDS,
                exc_info=True,
            )
            return RETRY_AFTER_ERROR_SECONDS
        return self._pollInterval

    def _publish(self, command: _Submit) -> None:
        """Put one task message on the broker (what ``send_task`` does, minus subscribing)."""
        app = self._app
        options = app.amqp.router.route({}, command.name, command.args, command.kwargs)
        message = app.amqp.create_task_message(
            command.taskId, command.name, command.args, command.kwargs
        )
        with app.producer_or_acquire() as producer:
            app.amqp.send_task_message(producer, command.name, message, **options)

    def _poll(self, pending: dict[str, str]) -> None:
        """Read the state of every pending task; deliver and forget the finished ones."""
        backend = self._app.backend
        outcomes = []
        for taskId, meta in self._fetchMetas(backend, list(pending)):
            outcome = outcomeOf(pending[taskId], taskId, meta)
            if outcome is not None:
                outcomes.append((taskId, *outcome))
        if not outcomes:
            return
        self._reactor.callFromThread(self._deliver, outcomes)
        for taskId, _, _ in outcomes:
            del pending[taskId]
            backend.forget(taskId)

    @staticmethod
    def _fetchMetas(backend: Any, taskIds: list[str]) -> Iterable[tuple[str, dict]]:
        """``(taskId, meta)`` of the tasks with a stored state (one round trip on Redis)."""
        if isinstance(backend, BaseKeyValueStoreBackend):
            keys = [backend.get_key_for_task(taskId) for taskId in taskIds]
            values = backend.mget(keys)
            if isinstance(values, dict):  # memcached-style clients answer with a mapping
                values = [values.get(key) for key in keys]
            return [
                (taskId, backend.decode(value))
                for taskId, value in zip(taskIds, values, strict=True)
                if value is not None
            ]
        return [(taskId, backend.get_task_meta(taskId, cache=False)) for taskId in taskIds]
