"""Start and stop one service process: extensions around plugins, graceful and forced stop."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from twisted.internet.defer import Deferred, maybeDeferred

from peek_platform.exit_codes import EXIT_FAILURE, EXIT_OK
from peek_platform.process.context import ServiceContext, ServiceExtension
from peek_platform.process.signals import signalName
from peek_platform.process.summary import pluginSummaryLine

logger = logging.getLogger(__name__)


def _extensionName(extension: ServiceExtension) -> str:
    """Name an extension in log lines by its class."""
    return type(extension).__qualname__


class ServiceLifecycle:
    """Runs the ordered start and the two stop paths (graceful, forced) of one service.

    ``start`` and ``stop`` return Deferreds that never errback: every failure is logged
    with what failed and is reflected in ``exitStatus``.
    """

    def __init__(
        self,
        ctx: ServiceContext,
        extensions: Sequence[ServiceExtension],
        *,
        deadlineSeconds: float,
        exit: Callable[[int], Any],
    ) -> None:
        if ctx.loader is None:
            raise ValueError("ServiceLifecycle needs ctx.loader set to the plugin loader")
        self._ctx = ctx
        self._loader = ctx.loader
        self._extensions = tuple(extensions)
        self._deadlineSeconds = deadlineSeconds
        self._exit = exit
        self._startedExtensions: list[ServiceExtension] = []
        self._startFinished: Deferred[None] | None = None
        self._stopRequested = False
        self._reactorStopAsked = False
        self.exitStatus = EXIT_OK

    @property
    def _name(self) -> str:
        return self._ctx.spec.vortexName

    def start(self) -> Deferred[None]:
        """Start extensions in order, then load and start every plugin; log the summary.

        If an extension fails to start, no plugin loads, the exit status becomes 1 and the
        reactor is asked to stop (which runs the graceful stop of what did start).
        """
        self._startFinished = Deferred()
        d = Deferred.fromCoroutine(self._start())
        d.addBoth(self._noteStartFinished)
        return d

    def _noteStartFinished(self, result: Any) -> Any:
        assert self._startFinished is not None
        self._startFinished.callback(None)
        return result

    async def _start(self) -> None:
        ctx = self._ctx
        for extension in self._extensions:
            try:
                await maybeDeferred(extension.startBeforePlugins, ctx)
            except Exception:
                logger.exception(
                    "%s: extension %s failed to start; no plugins are loaded and the service "
                    "stops. Fix the cause above and start the service again.",
                    self._name,
                    _extensionName(extension),
                )
                self.exitStatus = EXIT_FAILURE
                self._stopReactor()
                return
            self._startedExtensions.append(extension)

        await self._loader.loadAll()
        if self._stopRequested:
            logger.info("%s: stop requested while loading plugins; not starting them", self._name)
            return
        await self._loader.startAll()
        # Peers' messages are accepted only now: a link that came up while plugins were
        # still starting would deliver requests to endpoints not registered yet, and those
        # requests would go unanswered.
        for extension in self._startedExtensions:
            if self._stopRequested:
                return
            try:
                await maybeDeferred(extension.startAfterPlugins, ctx)
            except Exception:
                logger.exception(
                    "%s: extension %s failed to finish starting after the plugins; the "
                    "service stops. Fix the cause above and start the service again.",
                    self._name,
                    _extensionName(extension),
                )
                self.exitStatus = EXIT_FAILURE
                self._stopReactor()
                return
        logger.info(pluginSummaryLine(self._name, self._loader.statuses()))

    def _stopReactor(self) -> None:
        """Ask the reactor to stop once; its shutdown trigger then runs ``stop``."""
        if self._stopRequested or self._reactorStopAsked:
            return
        self._reactorStopAsked = True
        self._ctx.reactor.stop()

    def requestStop(self, signum: int) -> None:
        """Begin the graceful stop because ``signum`` arrived (call on the reactor thread)."""
        logger.info(
            "%s: received %s; stopping gracefully (send it again to exit at once)",
            self._name,
            signalName(signum),
        )
        self._stopReactor()

    def stop(self) -> Deferred[None]:
        """Graceful stop: plugins stop, then unload, then extensions stop in reverse order.

        Plugins go first because they use what the extensions provide (the vortex, the
        database, the task queue): stopping a plugin may still send, commit or submit, so
        those must stay up until every plugin has stopped *and* unloaded. Extensions then stop
        in the reverse of their start order, as ``MultiService`` does, so each one outlives
        the ones started after it, which may depend on it. Every step is bounded by the
        lifecycle deadline; a step that fails or overruns is logged, makes the exit status 1,
        and the next step still runs so nothing after it is leaked.
        """
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        self._stopRequested = True
        logger.info("%s: stopping", self._name)
        if self._startFinished is not None and not self._startFinished.called:
            await self._bounded("finish starting", lambda: self._startFinished)
        await self._bounded("stop plugins", self._loader.stopAll)
        await self._bounded("unload plugins", self._loader.unloadAll)
        ctx = self._ctx
        for extension in reversed(self._startedExtensions):
            await self._bounded(
                f"stop extension {_extensionName(extension)}",
                partial(extension.stopAfterPlugins, ctx),
            )
        logger.info("%s: stopped", self._name)

    async def _bounded(self, step: str, call: Callable[[], Any]) -> None:
        """Run one stop step under the deadline; log and record a failure, never raise."""
        d = maybeDeferred(call)
        d.addTimeout(self._deadlineSeconds, self._ctx.reactor)
        try:
            await d
        except Exception:
            logger.exception(
                "%s: stop step %r failed or took longer than %s s "
                "(plugin.lifecycleDeadlineSeconds); continuing with the next step",
                self._name,
                step,
                self._deadlineSeconds,
            )
            self.exitStatus = EXIT_FAILURE

    def kill(self, signum: int) -> None:
        """Forced stop: log why and end the process now, skipping every remaining step.

        This is the path for a graceful stop that hangs (a plugin that never returns from
        ``stop``): nothing here waits on plugin or extension code, which is exactly what can
        no longer be trusted. The operating system reclaims sockets, files and children;
        plugins that needed an orderly ``unload`` recover on the next start. The exit
        status is ``128 + signum``, the shell convention for "ended by that signal".
        """
        logger.critical(
            "%s: received %s again during the graceful stop; exiting now without finishing "
            "plugin stop/unload",
            self._name,
            signalName(signum),
        )
        self._exit(128 + signum)
