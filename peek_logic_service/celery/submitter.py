"""Submit Celery tasks from the reactor thread and get each result as a Deferred.

Two background threads do all the blocking work, so the reactor never waits on the broker or
the result store, and any number of pending tasks costs the same two threads:

* the *publisher* puts submitted tasks on the broker, those queued at one moment together
  (one Redis pipeline);
* the *receiver* reads finished results and hands them to the reactor in batches with
  ``callFromThread``.

On a Redis result store the receiver is pushed each result: Celery's Redis backend
``PUBLISH``es every stored result on the channel named after its key, and the receiver holds
one pub/sub connection with one pattern subscription covering exactly this submitter's tasks
(their ids share a random prefix per submitter, so the pattern matches no one else's
results and no per-task ``SUBSCRIBE`` is needed). Nothing is lost around that connection:

* each time the subscription is confirmed (at start and after every reconnect) the receiver
  reads every pending task's key once (one ``MGET``), which catches any result stored
  before the subscription existed or while it was down (a restarted Redis, a dropped link);
* a safety poll reads every pending task's key every ``safetyPollSeconds`` (default 1 s),
  in case a message was missed some other way.

On any other result store (the embedded SQLite store) the receiver polls every pending
task's state, all in one query, every ``pollIntervalSeconds``.

Each result is delivered exactly once: the receiver removes a task from the pending set
before handing its result over, so a second copy (from the safety poll, or a task that ran
twice after a redelivery) finds nothing to deliver, and the reactor side ignores results
for tasks that timed out or were cancelled. Each delivered result is deleted from the store.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import select
import socket
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

#: Seconds between two polls of a result store that cannot push results (not Redis).
DEFAULT_POLL_INTERVAL = 0.02
#: Seconds between two safety polls of a Redis result store that pushes results.
DEFAULT_SAFETY_POLL_SECONDS = 1.0
#: Seconds before reading again after the result store failed (doubling up to the cap).
RETRY_AFTER_ERROR_SECONDS = 0.1
RETRY_AFTER_ERROR_CAP_SECONDS = 2.0
#: Most keys read or deleted in one command (one ``MGET``, one ``DEL``, one SQL ``IN``).
BATCH_SIZE = 500
#: Seconds delivered Redis results may wait to be deleted together (one ``DEL``).
FORGET_DELAY_SECONDS = 0.05
#: States in which a task has finished without a usable result.
_FAILED_STATES = frozenset({states.FAILURE, states.REVOKED, states.REJECTED})
#: Characters with a meaning in a Redis glob pattern.
_GLOB_SPECIAL = frozenset(b"*?[]\\")


@dataclass(frozen=True)
class _Submit:
    taskId: str
    name: str
    args: tuple
    kwargs: dict


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


def _globEscape(text: bytes) -> bytes:
    """``text`` with Redis glob characters escaped, to match itself literally."""
    return b"".join(b"\\" + bytes([c]) if c in _GLOB_SPECIAL else bytes([c]) for c in text)


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), BATCH_SIZE):
        yield items[start : start + BATCH_SIZE]


def _isRedisBackend(backend: Any) -> bool:
    """True for Celery's Redis result backend (and its Sentinel subclass)."""
    try:
        from celery.backends.redis import RedisBackend
    except ImportError:  # the redis client library is not installed
        return False
    return isinstance(backend, RedisBackend)


class CeleryTaskSubmitter:
    """Submits tasks on ``app`` and delivers results as Deferreds on ``reactor``.

    ``submit`` is called on the reactor thread; ``start`` before the first submit and
    ``stop`` when the service stops (pending Deferreds then fail with ``CeleryUnavailable``).
    ``pollIntervalSeconds`` applies to result stores that cannot push (not Redis);
    ``safetyPollSeconds`` to Redis, which pushes each result.
    """

    def __init__(
        self,
        app: Celery,
        reactor: Any,
        *,
        resultTimeoutSeconds: float,
        pollIntervalSeconds: float = DEFAULT_POLL_INTERVAL,
        safetyPollSeconds: float = DEFAULT_SAFETY_POLL_SECONDS,
    ) -> None:
        self._app = app
        self._reactor = reactor
        self._resultTimeout = resultTimeoutSeconds
        self._pollInterval = pollIntervalSeconds
        self._safetyPoll = safetyPollSeconds
        self._commands: queue.SimpleQueue[Any] = queue.SimpleQueue()
        #: Reactor thread only: task id → (task name, Deferred) awaiting a result.
        self._waiting: dict[str, tuple[str, Deferred[Any]]] = {}
        #: Task id → task name of the tasks whose result the receiver looks for; written by
        #: the reactor (submit, cancel) and the receiver (delivery), under ``_lock``.
        self._pending: dict[str, str] = {}
        self._lock = threading.Lock()
        #: Every task id of this submitter starts with this (the pub/sub pattern's prefix).
        self._idPrefix = uuid.uuid4().hex[:8]
        self._threads: list[threading.Thread] = []
        self._threadsRunning = 0
        self._stopping = threading.Event()
        self._wakeRead: socket.socket | None = None
        self._wakeWrite: socket.socket | None = None
        #: Poll mode: the receiver sleeps without a deadline (nothing pending) until woken.
        self._receiverIdle = False
        self._stopped: Deferred[None] | None = None
        #: Tasks accepted by ``submit`` (reactor thread), and of those, the ones whose
        #: Deferred succeeded or failed (task error, publish error, timeout, stop, cancel).
        self.submittedCount = 0
        self.succeededCount = 0
        self.failedCount = 0
        #: Receiver thread: results found by a read of the store rather than pushed (the
        #: reads after each subscription and the safety polls), and duplicates ignored.
        self.readResultCount = 0
        self.duplicateResultCount = 0

    @property
    def pendingCount(self) -> int:
        """Tasks submitted whose Deferred has not fired yet."""
        return len(self._waiting)

    @property
    def pushesResults(self) -> bool:
        """True when the result store pushes results (Redis), False when it is polled."""
        return _isRedisBackend(self._app.backend)

    def start(self) -> None:
        """Start the background threads that publish tasks and receive results."""
        if self._threads:
            raise RuntimeError("CeleryTaskSubmitter.start() called twice")
        self._stopped = Deferred()
        self._wakeRead, self._wakeWrite = socket.socketpair()
        self._wakeRead.setblocking(False)
        self._wakeWrite.setblocking(False)
        receive = self._receivePushed if self.pushesResults else self._receivePolled
        self._threads = [
            threading.Thread(
                target=self._runThread,
                args=(self._publishLoop,),
                name="peek-celery-publisher",
                daemon=True,
            ),
            threading.Thread(
                target=self._runThread, args=(receive,), name="peek-celery-receiver", daemon=True
            ),
        ]
        self._threadsRunning = len(self._threads)
        for thread in self._threads:
            thread.start()

    def submit(self, task: Any, *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Queue ``task`` (a Celery task or its name) with arguments; a Deferred of its result.

        The Deferred fails with ``CeleryTaskError`` (the remote type and message) if the task
        raised, ``CeleryResultTimeout`` after ``resultTimeoutSeconds`` and
        ``CeleryPublishError`` if the broker refused it. Arguments must be JSON values.
        """
        name = task if isinstance(task, str) else task.name
        if not self._threads or self._stopped is None or self._stopping.is_set():
            return fail(
                CeleryUnavailable(
                    f"cannot submit Celery task {name}: the task submitter is not running "
                    "(the logic service is starting or stopping)"
                )
            )
        taskId = self._idPrefix + str(uuid.uuid4())[8:]

        def cancel(_: Deferred[Any]) -> None:
            self._waiting.pop(taskId, None)
            with self._lock:
                self._pending.pop(taskId, None)

        def timedOut(result: Any, timeout: float) -> Any:
            raise CeleryResultTimeout(name, taskId, timeout)

        d: Deferred[Any] = Deferred(canceller=cancel)
        self._waiting[taskId] = (name, d)
        d.addTimeout(self._resultTimeout, self._reactor, onTimeoutCancel=timedOut)
        d.addCallbacks(self._succeeded, self._failed)
        self.submittedCount += 1
        with self._lock:
            self._pending[taskId] = name
            wake, self._receiverIdle = self._receiverIdle, False
        if wake:
            self._wake()
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
        """Stop the threads; fail every pending Deferred with ``CeleryUnavailable``."""
        if not self._threads or self._stopped is None:
            raise RuntimeError("CeleryTaskSubmitter.stop() called before start()")
        if not self._stopping.is_set():
            self._stopping.set()
            self._commands.put(_STOP)
            self._wake()
        stopped: Deferred[None] = Deferred()

        def fireStopped(result: Failure | None) -> Failure | None:
            stopped.callback(None)
            return result

        self._stopped.addBoth(fireStopped)
        return stopped

    def _wake(self) -> None:
        """Interrupt the receiver's wait (any thread)."""
        assert self._wakeWrite is not None
        try:
            self._wakeWrite.send(b"w")
        except (BlockingIOError, OSError):
            pass  # the buffer is full, so the receiver is woken anyway; or it has ended

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
        """Once both threads ended: fail what is still pending, fire ``stop``'s Deferred."""
        self._threadsRunning -= 1
        if self._threadsRunning:
            return
        waiting, self._waiting = self._waiting, {}
        with self._lock:
            self._pending.clear()
        for taskId, (name, d) in waiting.items():
            d.errback(
                Failure(
                    CeleryUnavailable(
                        f"Celery task {name} ({taskId}) was still pending when the logic "
                        "service stopped; its result will not be delivered"
                    )
                )
            )
        for sock in (self._wakeRead, self._wakeWrite):
            if sock is not None:
                sock.close()
        assert self._stopped is not None
        self._stopped.callback(None)

    # -- both threads -------------------------------------------------------------------

    def _runThread(self, loop: Any) -> None:
        """Run one thread's loop; tell the reactor when it ends (however it ends)."""
        try:
            loop()
        except Exception:
            logger.exception(
                "The Celery task submitter's %s thread failed", threading.current_thread().name
            )
            self._stopping.set()
            self._commands.put(_STOP)
            self._wake()
        finally:
            self._reactor.callFromThread(self._threadEnded)

    def _handOver(self, outcomes: list[tuple[str, bool, Any]]) -> None:
        if outcomes:
            self._reactor.callFromThread(self._deliver, outcomes)

    # -- publisher thread ---------------------------------------------------------------

    def _publishLoop(self) -> None:
        """Publish queued tasks until told to stop."""
        while True:
            commands = [self._commands.get()]
            while True:
                try:
                    commands.append(self._commands.get_nowait())
                except queue.Empty:
                    break
            submits = [command for command in commands if command is not _STOP]
            rejected: list[tuple[str, bool, Any]] = []
            for start in range(0, len(submits), BATCH_SIZE):
                rejected.extend(self._publishBatch(submits[start : start + BATCH_SIZE]))
            self._handOver(rejected)
            if len(submits) < len(commands):
                return

    def _publishBatch(self, commands: list[_Submit]) -> list[tuple[str, bool, Any]]:
        """Publish ``commands``; the outcomes of those the broker did not take.

        Where the transport batches (kombu's ``Producer.batch``: one Redis pipeline) the
        messages go in one round trip; if that fails, none of them counts as queued."""
        app = self._app
        rejected: list[tuple[str, bool, Any]] = []
        buffered: list[_Submit] = []
        batched = False
        try:
            with app.producer_or_acquire() as producer:
                batch = getattr(producer, "batch", None)
                batched = batch is not None
                context = contextlib.nullcontext() if batch is None else batch(2 * BATCH_SIZE)
                with context:
                    for command in commands:
                        try:
                            self._publish(producer, command)
                        except Exception as e:
                            rejected.append(self._rejected(command, e))
                        else:
                            buffered.append(command)
        except Exception as e:
            if not batched:
                raise
            rejected.extend(self._rejected(command, e) for command in buffered)
        return rejected

    def _rejected(self, command: _Submit, error: Exception) -> tuple[str, bool, Any]:
        """The outcome of a task the broker did not take; it is no longer pending."""
        failure = CeleryPublishError(
            f"Celery task {command.name} ({command.taskId}) could not be queued on the "
            f"broker ({type(error).__name__}: {error}); check celery.brokerUrl"
        )
        failure.__cause__ = error
        with self._lock:
            self._pending.pop(command.taskId, None)
        return command.taskId, False, failure

    def _publish(self, producer: Any, command: _Submit) -> None:
        """Put one task message on the broker (what ``send_task`` does, minus subscribing)."""
        amqp = self._app.amqp
        options = amqp.router.route({}, command.name, command.args, command.kwargs)
        message = amqp.create_task_message(
            command.taskId, command.name, command.args, command.kwargs
        )
        amqp.send_task_message(producer, command.name, message, **options)

    # -- receiver thread ----------------------------------------------------------------

    def _wait(self, timeout: float | None, sock: Any = None) -> None:
        """Sleep until woken, ``sock`` is readable or ``timeout`` (seconds) has passed.

        ``poll`` where the platform has it: a busy logic service holds far more than the
        1024 descriptors ``select`` can watch."""
        assert self._wakeRead is not None
        sockets = [self._wakeRead] if sock is None else [self._wakeRead, sock]
        if hasattr(select, "poll"):
            poller = select.poll()
            for each in sockets:
                poller.register(each, select.POLLIN)
            poller.poll(None if timeout is None else timeout * 1000)
        else:
            select.select(sockets, [], [], timeout)
        try:
            while self._wakeRead.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _pendingSnapshot(self) -> dict[str, str]:
        with self._lock:
            return dict(self._pending)

    def _take(self, found: Iterable[tuple[str, dict]]) -> list[tuple[str, bool, Any]]:
        """Outcomes of the finished tasks among ``found``; those leave the pending set.

        A finished task no longer pending was delivered, timed out or cancelled: skipped.
        """
        outcomes = []
        with self._lock:
            for taskId, meta in found:
                name = self._pending.get(taskId)
                if name is None:
                    if meta.get("status") in states.READY_STATES:
                        self.duplicateResultCount += 1
                    continue
                outcome = outcomeOf(name, taskId, meta)
                if outcome is not None:
                    del self._pending[taskId]
                    outcomes.append((taskId, *outcome))
        return outcomes

    def _receivePolled(self) -> None:
        """Poll the result store for every pending task until told to stop."""
        backend = self._app.backend
        retry = RETRY_AFTER_ERROR_SECONDS
        nextPoll = time.monotonic() + self._pollInterval
        while not self._stopping.is_set():
            with self._lock:
                idle = self._receiverIdle = not self._pending
            if idle:
                self._wait(None)
                nextPoll = time.monotonic() + self._pollInterval
                continue
            delay = nextPoll - time.monotonic()
            if delay > 0:
                self._wait(delay)
                continue
            try:
                outcomes = self._take(self._fetchMetas(backend, list(self._pendingSnapshot())))
            except Exception:
                # Pending tasks keep their deadlines, so a lasting outage ends in timeouts.
                logger.warning(
                    "Reading %d Celery result(s) from the result store failed (check "
                    "celery.resultUrl); retrying in %g s",
                    len(self._pending),
                    retry,
                    exc_info=True,
                )
                nextPoll = time.monotonic() + retry
                retry = min(retry * 2, RETRY_AFTER_ERROR_CAP_SECONDS)
                continue
            self._handOver(outcomes)
            if outcomes:
                self._forget(backend, [taskId for taskId, _, _ in outcomes])
            retry = RETRY_AFTER_ERROR_SECONDS
            nextPoll = time.monotonic() + self._pollInterval

    def _receivePushed(self) -> None:
        """Receive pushed results (Redis pub/sub), with reads that close every gap."""
        receiver = _RedisResultReceiver(self, self._app.backend)
        try:
            receiver.run()
        finally:
            receiver.close()

    def _readPending(self, backend: Any) -> list[tuple[str, bool, Any]]:
        """Read every pending task's state once; the outcomes of the finished ones."""
        outcomes = self._take(self._fetchMetas(backend, list(self._pendingSnapshot())))
        self.readResultCount += len(outcomes)
        return outcomes

    @staticmethod
    def _fetchMetas(backend: Any, taskIds: list[str]) -> list[tuple[str, dict]]:
        """``(taskId, meta)`` of the tasks with a stored state (one round trip per batch)."""
        found: list[tuple[str, dict]] = []
        if not taskIds:
            return found
        if isinstance(backend, BaseKeyValueStoreBackend):
            for chunk in _chunks(taskIds):
                keys = [backend.get_key_for_task(taskId) for taskId in chunk]
                values = backend.mget(keys)
                if isinstance(values, dict):  # memcached-style clients answer with a mapping
                    values = [values.get(key) for key in keys]
                found.extend(
                    (taskId, backend.decode(value))
                    for taskId, value in zip(chunk, values, strict=True)
                    if value is not None
                )
            return found
        if _isDatabaseBackend(backend):
            return _fetchDatabaseMetas(backend, taskIds)
        return [(taskId, backend.get_task_meta(taskId, cache=False)) for taskId in taskIds]

    @staticmethod
    def _forget(backend: Any, taskIds: list[str]) -> None:
        """Delete delivered results from a polled store (they expire otherwise)."""
        try:
            if _isDatabaseBackend(backend):
                _forgetDatabaseResults(backend, taskIds)
            else:
                for taskId in taskIds:
                    backend.forget(taskId)
        except Exception:
            logger.debug(
                "Deleting %d delivered Celery result(s) failed", len(taskIds), exc_info=True
            )


class _RedisResultReceiver:
    """The receiver thread's work on a Redis result store: one pattern subscription.

    The subscription covers ``<task key prefix><submitter id prefix>*``. A confirmation of it
    (first, or after a reconnect) is followed by one read of all pending keys; a safety
    poll reads them all again every ``safetyPollSeconds``; a broken connection is dropped and
    made again after a short, growing delay while the safety poll keeps trying.
    """

    def __init__(self, submitter: CeleryTaskSubmitter, backend: Any) -> None:
        self._s = submitter
        self._backend = backend
        idPrefixKey = backend.get_key_for_task(submitter._idPrefix)
        #: Everything before the task id in a result key (Celery's ``task_keyprefix``).
        self._keyPrefix: bytes = idPrefixKey[: -len(submitter._idPrefix)]
        self._pattern = _globEscape(idPrefixKey) + b"*"
        self._pubsub: Any = None
        self._reconnectAt = 0.0
        self._retry = RETRY_AFTER_ERROR_SECONDS
        self._outage = False
        self._nextSafetyPoll = time.monotonic() + submitter._safetyPoll
        self._toForget: list[str] = []
        self._forgetAt = float("inf")

    def close(self) -> None:
        self._dropPubsub()

    def run(self) -> None:
        s = self._s
        while not s._stopping.is_set():
            now = time.monotonic()
            if self._pubsub is None and now >= self._reconnectAt:
                self._subscribe()
            if now >= self._nextSafetyPoll:
                self._safetyPollNow()
            outcomes = self._readMessages()
            s._handOver(outcomes)
            self._forgetDelivered()
            deadline = min(self._nextSafetyPoll, self._forgetAt)
            if self._pubsub is None:
                deadline = min(deadline, self._reconnectAt)
            timeout = max(0.0, deadline - time.monotonic())
            sock = self._socket()
            if self._pubsub is not None and sock is None:
                timeout = min(timeout, 0.05)  # no socket to wait on: look again soon
            s._wait(timeout, sock)

    # -- the subscription -----------------------------------------------------------------

    def _socket(self) -> Any:
        connection = None if self._pubsub is None else self._pubsub.connection
        return None if connection is None else getattr(connection, "_sock", None)

    def _subscribe(self) -> None:
        try:
            pubsub = self._backend.client.pubsub(ignore_subscribe_messages=False)
            pubsub.psubscribe(self._pattern)
        except Exception as e:
            self._lost(e)
            return
        self._pubsub = pubsub

    def _dropPubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                pubsub.close()
            except Exception:
                pass

    def _lost(self, error: Exception) -> None:
        """The pub/sub connection failed: drop it, connect again after a growing delay."""
        self._dropPubsub()
        if not self._outage:
            self._outage = True
            logger.warning(
                "The Celery result store's pub/sub connection failed (%s: %s; check "
                "celery.resultUrl); reconnecting, %d pending task(s) will be read once it is "
                "back",
                type(error).__name__,
                error,
                len(self._s._pending),
            )
        self._reconnectAt = time.monotonic() + self._retry
        self._retry = min(self._retry * 2, RETRY_AFTER_ERROR_CAP_SECONDS)

    def _readMessages(self) -> list[tuple[str, bool, Any]]:
        """Every message available now, as outcomes; reads all keys after a subscription."""
        pubsub = self._pubsub
        if pubsub is None:
            return []
        found: list[tuple[str, dict]] = []
        subscribed = False
        try:
            while True:
                message = pubsub.get_message(timeout=0)
                if message is None:
                    break
                kind = message["type"]
                if kind == "pmessage":
                    channel = message["channel"]
                    if isinstance(channel, str):
                        channel = channel.encode()
                    taskId = channel[len(self._keyPrefix) :].decode()
                    found.append((taskId, self._backend.decode(message["data"])))
                elif kind == "psubscribe":
                    subscribed = True
        except Exception as e:
            outcomes = self._s._take(found)
            self._toForget.extend(taskId for taskId, _, _ in outcomes)
            self._lost(e)
            return outcomes
        outcomes = self._s._take(found)
        self._toForget.extend(taskId for taskId, _, _ in outcomes)
        if subscribed:
            outcomes.extend(self._subscribed())
        return outcomes

    def _subscribed(self) -> list[tuple[str, bool, Any]]:
        """The subscription is live: read whatever was stored before it (one ``MGET``)."""
        try:
            outcomes = self._s._readPending(self._backend)
        except Exception as e:
            self._lost(e)
            return []
        if self._outage:
            logger.warning(
                "The Celery result store's pub/sub connection is back; %d result(s) stored "
                "meanwhile were read",
                len(outcomes),
            )
        self._outage = False
        self._retry = RETRY_AFTER_ERROR_SECONDS
        self._toForget.extend(taskId for taskId, _, _ in outcomes)
        return outcomes

    def _safetyPollNow(self) -> None:
        s = self._s
        self._nextSafetyPoll = time.monotonic() + s._safetyPoll
        if not s._pending:
            return
        try:
            outcomes = s._readPending(self._backend)
        except Exception:
            logger.debug("Safety poll of the Celery result store failed", exc_info=True)
            if self._pubsub is not None and not self._outage:
                # The store is unreachable though the pub/sub link looked alive: renew it.
                self._lost(RuntimeError("a safety poll of the result store failed"))
            return
        if outcomes:
            logger.debug("Safety poll found %d Celery result(s) not pushed", len(outcomes))
        s._handOver(outcomes)
        self._toForget.extend(taskId for taskId, _, _ in outcomes)

    def _forgetDelivered(self) -> None:
        """Delete delivered results, together once ``FORGET_DELAY_SECONDS`` have passed
        since the first or ``BATCH_SIZE`` have gathered (fewer commands under load)."""
        if not self._toForget:
            return
        now = time.monotonic()
        if self._forgetAt == float("inf"):
            self._forgetAt = now + FORGET_DELAY_SECONDS
        if now < self._forgetAt and len(self._toForget) < BATCH_SIZE:
            return
        taskIds, self._toForget = self._toForget, []
        self._forgetAt = float("inf")
        try:
            for chunk in _chunks(taskIds):
                self._backend.client.delete(
                    *(self._backend.get_key_for_task(taskId) for taskId in chunk)
                )
        except Exception:
            # They expire with result_expires; the pub/sub link notices any outage itself.
            logger.debug(
                "Deleting %d delivered Celery result(s) failed", len(taskIds), exc_info=True
            )


def _isDatabaseBackend(backend: Any) -> bool:
    try:
        from celery.backends.database import DatabaseBackend
    except ImportError:  # SQLAlchemy is not installed
        return False
    return isinstance(backend, DatabaseBackend)


def _fetchDatabaseMetas(backend: Any, taskIds: list[str]) -> list[tuple[str, dict]]:
    """Celery's database backend: finished tasks' states, one query per batch."""
    from celery.backends.database import session_cleanup

    decode = getattr(backend, "_decode_stored_result", backend.decode)
    task = backend.task_cls
    found = []
    session = backend.ResultSession()
    with session_cleanup(session):
        for chunk in _chunks(taskIds):
            rows = session.query(task.task_id, task.status, task.result).filter(
                task.task_id.in_(chunk), task.status.in_(states.READY_STATES)
            )
            for taskId, status, result in rows:
                found.append((taskId, {"status": status, "result": decode(result)}))
    return found


def _forgetDatabaseResults(backend: Any, taskIds: list[str]) -> None:
    """Celery's database backend: delete rows, one statement per batch."""
    from celery.backends.database import session_cleanup

    task = backend.task_cls
    session = backend.ResultSession()
    with session_cleanup(session):
        for chunk in _chunks(taskIds):
            session.query(task).filter(task.task_id.in_(chunk)).delete(synchronize_session=False)
        session.commit()
