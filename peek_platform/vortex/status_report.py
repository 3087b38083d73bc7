"""What a service reports about itself to logic, and when: on link up and on every change."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from twisted.internet.interfaces import IDelayedCall, IReactorTime

from peek_platform import __version__
from peek_platform.plugin.state import PluginStatus
from peek_platform.vortex.tuples import (
    STATUS_REPORT_FILT,
    PluginStatusTuple,
    ServiceStatusTuple,
)
from peek_plugin_base.PeekVortexUtil import peekLogicName
from vortex.Payload import Payload
from vortex.VortexFactory import NoVortexException, RemoteVortexInfo, VortexFactory

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceIdentity:
    """Who a service process is; fixed for the life of the process."""

    serviceKey: str
    vortexName: str
    vortexUuid: str
    version: str = __version__
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    startedAt: datetime = field(default_factory=lambda: datetime.now(UTC))

    def statusTuple(self, plugins: list[PluginStatusTuple]) -> ServiceStatusTuple:
        """This service's status with ``plugins`` (link fields are left for logic to fill)."""
        return ServiceStatusTuple(
            serviceKey=self.serviceKey,
            vortexName=self.vortexName,
            vortexUuid=self.vortexUuid,
            version=self.version,
            host=self.host,
            pid=self.pid,
            startedAt=self.startedAt,
            plugins=list(plugins),
        )


def pluginStatusTuples(statuses: Iterable[PluginStatus]) -> list[PluginStatusTuple]:
    """The loader's plugin statuses as tuples (name, version, state, reason, timings)."""
    return [
        PluginStatusTuple(
            name=s.name,
            version=s.version,
            state=s.state.value,
            reason=s.reason,
            loadSeconds=s.loadSeconds,
            startSeconds=s.startSeconds,
        )
        for s in statuses
    ]


#: Seconds of plugin status changes a watcher with a clock looks at once (at least).
STATUS_COALESCE_SECONDS = 0.1

#: A watcher with a clock waits at least this many times as long as its last look took, so
#: looking costs at most about 1/20 of the reactor however many plugins there are.
STATUS_LOOK_SHARE = 20

#: Subscribes a change listener; returns the function that unsubscribes it.
Subscribe = Callable[[Callable[[], None]], Callable[[], None]]


class LoaderStatusWatcher:
    """Calls ``onChange(plugins)`` when the loader's plugin statuses change.

    ``subscribe`` is the loader's ``addStatusListener``: the loader says when a plugin
    changed state, and the watcher reports only if the reported fields really differ. With
    a ``clock``, the changes of ``coalesceSeconds`` are looked at once: a service starting
    hundreds of plugins changes states thousands of times, and reading every plugin's status
    on each change would cost time growing with the square of the plugins. A look costs
    time growing with the plugins, so the delay also grows to ``STATUS_LOOK_SHARE`` times
    the last look's duration: a start of N plugins then spends time linear in N on it.
    """

    def __init__(
        self,
        statuses: Callable[[], Iterable[PluginStatus]],
        onChange: Callable[[list[PluginStatusTuple]], Any],
        *,
        subscribe: Subscribe,
        clock: IReactorTime | None = None,
        coalesceSeconds: float = STATUS_COALESCE_SECONDS,
    ) -> None:
        self._statuses = statuses
        self._onChange = onChange
        self._subscribe = subscribe
        self._clock = clock
        self._coalesceSeconds = coalesceSeconds
        self._pending: IDelayedCall | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._last: list[PluginStatusTuple] | None = None
        #: Seconds the last look took, by ``clock`` (0 without one).
        self._lastLookSeconds = 0.0

    @property
    def current(self) -> list[PluginStatusTuple]:
        """The plugin statuses as last seen (reading the loader now if never read)."""
        if self._last is None:
            self._last = pluginStatusTuples(self._statuses())
        return list(self._last)

    def check(self) -> None:
        """Look at the loader now; report a change."""
        plugins = pluginStatusTuples(self._statuses())
        if plugins != self._last:
            self._last = plugins
            self._onChange(list(plugins))

    def _changed(self) -> None:
        """The loader says a status changed: look now, or once the coalescing delay ends."""
        if self._clock is None:
            self.check()
        elif self._pending is None:
            delay = max(self._coalesceSeconds, STATUS_LOOK_SHARE * self._lastLookSeconds)
            self._pending = self._clock.callLater(delay, self._checkLater)

    def _checkLater(self) -> None:
        self._pending = None
        assert self._clock is not None  # only scheduled with a clock
        began = self._clock.seconds()
        self.check()
        self._lastLookSeconds = self._clock.seconds() - began

    def start(self) -> None:
        """Report the statuses now and after every change."""
        if self._unsubscribe is None:
            self._unsubscribe = self._subscribe(self._changed)
            self.check()

    def stop(self) -> None:
        """Stop following changes (a look still pending is cancelled)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._pending is not None:
            if self._pending.active():
                self._pending.cancel()
            self._pending = None


class StatusReporter:
    """A non-logic service's reporter: sends its status to logic on link up and on change."""

    def __init__(
        self,
        factory: VortexFactory,
        identity: ServiceIdentity,
        statuses: Callable[[], Iterable[PluginStatus]],
        *,
        subscribe: Subscribe,
        logicName: str = peekLogicName,
        clock: IReactorTime | None = None,
    ) -> None:
        self._factory = factory
        self._identity = identity
        self._logicName = logicName
        self._watcher = LoaderStatusWatcher(
            statuses, lambda _: self.report(), subscribe=subscribe, clock=clock
        )
        self._unsubscribe: Callable[[], None] | None = None
        #: Reports sent so far (for operators' debugging and the tests).
        self.reportsSent = 0

    def start(self) -> None:
        """Report on every link to logic, and whenever a plugin's status changes."""
        self._unsubscribe = self._factory.addOnlineListener(self._online)
        self._watcher.start()

    def stop(self) -> None:
        """Stop watching and reporting."""
        self._watcher.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _online(self, info: RemoteVortexInfo) -> None:
        if info.name == self._logicName and not info.isDevice:
            self.report()

    def report(self) -> None:
        """Send the current status to logic if linked (a new link reports anyway)."""
        if not self._factory.isVortexNameConnected(self._logicName):
            return
        status = self._identity.statusTuple(self._watcher.current)
        msg = Payload(filt=dict(STATUS_REPORT_FILT), tuples=[status]).toVortexMsg()
        d = self._factory.sendVortexMsg(msg, destVortexName=self._logicName)
        d.addCallback(self._sent)
        d.addErrback(self._notSent)

    def _sent(self, _: Any) -> None:
        self.reportsSent += 1

    def _notSent(self, failure: Any) -> None:
        failure.trap(NoVortexException)
        logger.info(
            "Status report to %s not sent, the link dropped: %s; it is resent on reconnect",
            self._logicName,
            failure.getErrorMessage(),
        )
