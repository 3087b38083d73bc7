"""Load, start, stop and unload the enabled plugins of one service (docs/dev/loader.rst).

Order and failure rules:

* Plugins load in the enabled order, adjusted so each ``requiresPlugins`` dependency
  comes first (:func:`~peek_platform.plugin.ordering.orderPlugins`); they stop and
  unload in the reverse of that order, so a plugin never outlives what it depends on.
* A plugin that fails is marked ``FAILED`` with the reason and traceback; what it did
  so far is undone best-effort (``stop()`` if ``start()`` was entered, ``unload()``, the
  platform hook's registrations, the extensions' ``afterUnload``) and the service carries
  on with the others. Plugins that require a failed plugin do not run either.
* A plugin whose ``load()`` or ``start()`` raises
  :class:`~peek_plugin_base.PluginNotReadyError.PluginNotReadyError` is not failed: it is
  ``RETRYING`` and that step runs again on the reactor clock after a capped exponential
  backoff (``retryInitialSeconds`` doubling up to ``retryMaxSeconds``; at most
  ``retryMaxAttempts`` retries when set). A ``load()`` that was not ready is undone like a
  failure and retried from the import; a ``start()`` that was not ready is stopped and its
  ``start()`` retried (the plugin stays loaded). Plugins that require a retrying plugin wait
  for it instead of failing. ``stopAll`` cancels pending retries.
* At runtime :meth:`~PluginLoader.disablePlugin`, :meth:`~PluginLoader.enablePlugin` and
  :meth:`~PluginLoader.restartPlugin` act on one plugin while the others keep running:
  the plugins that require it are stopped first and brought back with it, and its code is
  forgotten (:mod:`~peek_platform.plugin.code_unload`) so enabling it imports it afresh. A
  plugin whose code is still referenced from elsewhere is refused with
  :class:`~peek_platform.plugin.errors.PluginControlError` before anything is stopped; one
  whose ``stop()`` or ``unload()`` fails is ``FAILED`` and needs a service restart.
* Every lifecycle call has a deadline (``deadlineSeconds``), enforced with
  ``Deferred.addTimeout`` on the injected reactor. Only a call that returned a Deferred or
  a coroutine can be cut short: a call that blocks the reactor thread synchronously
  cannot be interrupted, and the deadline is only noticed once it returns.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import logging
from collections.abc import Callable, Coroutine, Sequence
from functools import partial
from pathlib import Path
from types import CoroutineType
from typing import Any, TypeVar

from twisted.internet import defer
from twisted.internet.defer import Deferred, DeferredLock
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.python.failure import Failure

from peek_platform.plugin.code_unload import forgetPluginCode, pluginModuleNames, unloadBlocker
from peek_platform.plugin.entry_hooks import entryHookClass
from peek_platform.plugin.errors import (
    PluginControlError,
    PluginDependencyError,
    PluginError,
    PluginNotHereError,
    PluginValidationError,
)
from peek_platform.plugin.extension import LoaderExtension
from peek_platform.plugin.metadata import PluginMetadata, readPluginMetadata, runsOnService
from peek_platform.plugin.ordering import orderPlugins
from peek_platform.plugin.state import ControlOutcome, PluginState, PluginStatus
from peek_platform.services import ServiceSpec
from peek_plugin_base.PeekPlatformCommonHookABC import PeekPlatformCommonHookABC
from peek_plugin_base.PluginCommonEntryHookABC import PluginCommonEntryHookABC
from peek_plugin_base.PluginNotReadyError import PluginNotReadyError

__all__ = ["LoadedPlugin", "LoaderExtension", "PlatformFactory", "PluginLoader"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

#: Builds the platform hook handed to a plugin: ``(pluginName, pluginRootDir, loader)``.
PlatformFactory = Callable[[str, Path, "PluginLoader"], PeekPlatformCommonHookABC]

#: States in which a plugin's published API is offered to other plugins.
_API_STATES = frozenset({PluginState.LOADED, PluginState.STARTED, PluginState.STOPPED})

#: For a plugin to be loaded (started), the states its requirements must have reached...
_REACHED = {
    PluginState.LOADED: frozenset({PluginState.LOADED, PluginState.STARTED}),
    PluginState.STARTED: frozenset({PluginState.STARTED}),
}
#: ... and the states in which a requirement is still on its way there (the plugin waits).
_ON_THE_WAY = {
    PluginState.LOADED: frozenset({PluginState.PENDING, PluginState.RETRYING}),
    PluginState.STARTED: frozenset({PluginState.PENDING, PluginState.RETRYING, PluginState.LOADED}),
}


class LoadedPlugin:
    """One enabled plugin on this service: its package, entry hook, platform and status.

    ``rootDir``, ``metadata``, ``entryHook`` and ``platform`` stay ``None`` until the step
    that provides them succeeds (a plugin that failed to import has none of them).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.rootDir: Path | None = None
        self.metadata: PluginMetadata | None = None
        self.entryHook: PluginCommonEntryHookABC | None = None
        self.platform: PeekPlatformCommonHookABC | None = None
        self.status = PluginStatus(name=name)
        #: ``load()`` was entered and ``unload()`` has not been called yet.
        self._needsUnload = False
        #: ``start()`` was entered and ``stop()`` has not been called yet.
        self._needsStop = False
        #: Extensions whose ``beforeLoad`` succeeded, in call order.
        self._preparedBy: list[LoaderExtension] = []
        #: While ``RETRYING``: the step to run again (``"load"`` or ``"start"``) and the
        #: message of the ``PluginNotReadyError`` that put it there.
        self._retryStep: str | None = None
        self._retryMessage: str | None = None
        #: Disabled at runtime together with this plugin, which it requires; comes back
        #: when that plugin is enabled again.
        self._disabledWith: str | None = None
        #: A stop or unload at runtime failed: only a service restart clears it.
        self._needsServiceRestart = False

    @property
    def requiresPlugins(self) -> tuple[str, ...]:
        """The plugins this one requires (empty until its metadata is read)."""
        return self.metadata.requiresPlugins if self.metadata else ()

    def __repr__(self) -> str:
        return f"<LoadedPlugin {self.name} {self.status.state.name}>"


@dataclasses.dataclass(frozen=True)
class _Failed:
    """Outcome of a call that raised, errbacked or passed its deadline."""

    failure: Failure


class PluginLoader:
    """Drives the lifecycle of a service's enabled plugins; never errbacks on plugin errors.

    Call :meth:`loadAll`, :meth:`startAll`, :meth:`stopAll`, :meth:`unloadAll` in that
    order, each after the previous one's Deferred fired. Retries of not-ready plugins run
    in between on the reactor clock; they and those four calls never overlap (one lock).

    ``retryInitialSeconds`` is the delay before the first retry of a not-ready plugin; each
    further retry waits twice as long, at most ``retryMaxSeconds``. ``retryMaxAttempts``
    (None: no limit) is how many retries a plugin gets before it is failed.
    """

    def __init__(
        self,
        spec: ServiceSpec,
        enabled: Sequence[str],
        platformFactory: PlatformFactory,
        *,
        reactor: IReactorTime,
        deadlineSeconds: float = 30.0,
        extensions: Sequence[LoaderExtension] = (),
        retryInitialSeconds: float = 1.0,
        retryMaxSeconds: float = 60.0,
        retryMaxAttempts: int | None = None,
    ) -> None:
        if retryInitialSeconds <= 0 or retryMaxSeconds < retryInitialSeconds:
            raise ValueError(
                f"retryInitialSeconds ({retryInitialSeconds}) must be positive and at most "
                f"retryMaxSeconds ({retryMaxSeconds})"
            )
        if retryMaxAttempts is not None and retryMaxAttempts < 0:
            raise ValueError(f"retryMaxAttempts ({retryMaxAttempts}) must be None or >= 0")
        self.spec = spec
        self._enabled = list(dict.fromkeys(enabled))
        self._platformFactory = platformFactory
        self._reactor = reactor
        self._deadlineSeconds = deadlineSeconds
        self._extensions = tuple(extensions)
        self._plugins = {name: LoadedPlugin(name) for name in self._enabled}
        self._order: list[str] = list(self._enabled)
        self._statusListeners: list[Callable[[], None]] = []
        self.retryInitialSeconds = retryInitialSeconds
        self.retryMaxSeconds = retryMaxSeconds
        self.retryMaxAttempts = retryMaxAttempts
        #: Serialises loadAll/startAll/stopAll/unloadAll and retries.
        self._lock = DeferredLock()
        #: ``startAll`` was called: a plugin that becomes loaded is then started too.
        self._startRequested = False
        #: ``stopAll`` was called: nothing more is loaded, started or retried.
        self._stopping = False
        #: Pending retries by plugin name.
        self._retryCalls: dict[str, IDelayedCall] = {}

    # -- queries ------------------------------------------------------------------------

    def statuses(self) -> list[PluginStatus]:
        """Copies of every enabled plugin's status, in the enabled order."""
        return [dataclasses.replace(p.status) for p in self._plugins.values()]

    def addStatusListener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` after any plugin's state changes; returns an unsubscribe."""
        self._statusListeners.append(listener)
        return lambda: self._statusListeners.remove(listener)

    def _statusChanged(self) -> None:
        for listener in list(self._statusListeners):
            listener()

    def plugin(self, pluginName: str) -> LoadedPlugin | None:
        """The record of an enabled plugin, or None if it is not enabled here."""
        return self._plugins.get(pluginName)

    def getPluginApi(self, pluginName: str) -> object | None:
        """The API ``pluginName`` publishes on this service; None if it is not loaded."""
        plugin = self._plugins.get(pluginName)
        if plugin is None or plugin.entryHook is None:
            return None
        # A plugin retrying its start() is still loaded, so its API is still offered (one
        # retrying its load() has no entry hook).
        retryingLoaded = plugin.status.state is PluginState.RETRYING and plugin._needsUnload
        if plugin.status.state not in _API_STATES and not retryingLoaded:
            return None
        for attribute in self.spec.publishedApiNames:
            api = getattr(plugin.entryHook, attribute, None)
            if api is not None:
                return api
        return None

    # -- lifecycle ----------------------------------------------------------------------

    def loadAll(self) -> Deferred[None]:
        """Validate, order, construct and ``load()`` every enabled plugin that runs here."""
        return Deferred.fromCoroutine(self._exclusive(self._loadAll))

    def startAll(self) -> Deferred[None]:
        """``start()`` every loaded plugin, in load order (and, from now on, any plugin
        that becomes loaded later after retrying)."""
        return Deferred.fromCoroutine(self._exclusive(self._startAll))

    def stopAll(self) -> Deferred[None]:
        """Cancel pending retries, then ``stop()`` every started plugin in reverse order."""
        self._stopping = True
        self._cancelRetries()
        return Deferred.fromCoroutine(self._exclusive(self._stopAll))

    def unloadAll(self) -> Deferred[None]:
        """``unload()`` every loaded plugin in reverse load order and release its hooks."""
        return Deferred.fromCoroutine(self._exclusive(self._unloadAll))

    async def _exclusive(self, step: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        """Run ``step`` holding the loader's lock (no other step or retry runs meanwhile)."""
        await self._lock.acquire()
        try:
            return await step()
        finally:
            self._lock.release()

    # -- runtime control ----------------------------------------------------------------

    def disablePlugin(self, pluginName: str, why: str = "disabled") -> Deferred[ControlOutcome]:
        """Stop and unload ``pluginName`` (the plugins requiring it first) and forget its code.

        ``why`` becomes the plugin's reason. Fails with ``PluginControlError``, changing
        nothing, when the plugin is not enabled or does not run here, the service is
        stopping, or its code is referenced from outside the plugins being disabled.
        """
        return Deferred.fromCoroutine(self._exclusive(partial(self._disable, pluginName, why)))

    def enablePlugin(self, pluginName: str) -> Deferred[ControlOutcome]:
        """Import, load and (once the service started) start ``pluginName`` afresh, with the
        plugins disabled because of it; a plugin not in the config is enabled too."""
        return Deferred.fromCoroutine(self._exclusive(partial(self._enable, pluginName)))

    def restartPlugin(self, pluginName: str) -> Deferred[ControlOutcome]:
        """:meth:`disablePlugin` then :meth:`enablePlugin`, with no other step in between."""
        return Deferred.fromCoroutine(self._exclusive(partial(self._restart, pluginName)))

    async def _restart(self, name: str) -> ControlOutcome:
        began = self._reactor.seconds()
        stopped = await self._disable(name, "restarting")
        started = await self._enable(name)
        return dataclasses.replace(
            started,
            action="restart",
            changed=True,
            dependants=stopped.dependants,
            seconds=self._reactor.seconds() - began,
        )

    def _controllable(self, name: str) -> LoadedPlugin:
        """The record of ``name`` if a runtime action may touch it; else PluginControlError."""
        if self._stopping:
            raise PluginControlError(name, f"the {self.spec.key} service is stopping")
        plugin = self._plugins.get(name)
        if plugin is None:
            raise PluginNotHereError(name, f"is not enabled on the {self.spec.key} service")
        if plugin.status.state is PluginState.SKIPPED:
            raise PluginNotHereError(name, f"does not run on the {self.spec.key} service")
        if plugin._needsServiceRestart:
            raise PluginControlError(
                name,
                f"a stop or unload failed earlier ({plugin.status.reason}); restart the "
                f"{self.spec.key} service first",
            )
        return plugin

    def _dependantsOf(self, name: str) -> list[str]:
        """The plugins requiring ``name`` directly or not, that are not disabled or skipped,
        in load order."""
        found = {name}
        changed = True
        while changed:
            changed = False
            for plugin in self._plugins.values():
                if plugin.name in found or plugin.status.state in _INERT_STATES:
                    continue
                if found.intersection(plugin.requiresPlugins):
                    found.add(plugin.name)
                    changed = True
        return [n for n in self._order if n in found and n != name]

    def _checkCodeCanGo(self, name: str, packages: Sequence[str]) -> None:
        """Raise ``PluginControlError`` when the code of ``packages`` is held elsewhere."""
        blocker = unloadBlocker(packages)
        if blocker is not None:
            raise PluginControlError(
                name,
                f"its code cannot be unloaded safely ({blocker}); restart the "
                f"{self.spec.key} service instead",
            )

    async def _disable(self, name: str, why: str) -> ControlOutcome:
        began = self._reactor.seconds()
        plugin = self._controllable(name)
        if plugin.status.state is PluginState.DISABLED:
            return _outcome(plugin, "disable", changed=False)
        dependants = self._dependantsOf(name)
        group = [*dependants, name]
        self._checkCodeCanGo(name, group)
        for other in reversed(dependants):
            logger.info("%s: stopping %s first, it requires %s", name, other, name)
        for member in [*reversed(dependants), name]:
            reason = why if member == name else f"stopped because it requires {name} ({why})"
            await self._takeDown(self._plugins[member], reason, disabledWith=name)
        if not any(self._plugins[m]._needsServiceRestart for m in group):
            forgetPluginCode(group)
        return _outcome(
            plugin,
            "disable",
            dependants=tuple(reversed(dependants)),
            seconds=self._reactor.seconds() - began,
        )

    async def _takeDown(self, plugin: LoadedPlugin, reason: str, *, disabledWith: str) -> None:
        """Stop and unload one plugin at runtime; ``DISABLED``, or ``FAILED`` for good."""
        call = self._retryCalls.pop(plugin.name, None)
        if call is not None and call.active():
            call.cancel()
        began = self._reactor.seconds()
        if not await self._undo(plugin, record=True):
            plugin._needsServiceRestart = True
            plugin.status.reason = f"{plugin.status.reason}; restart the service to recover"
            self._statusChanged()
            return
        plugin.entryHook = None
        plugin.platform = None
        _clearRetry(plugin)
        plugin._disabledWith = None if plugin.name == disabledWith else disabledWith
        plugin.status.state = PluginState.DISABLED
        plugin.status.reason = reason
        plugin.status.traceback = None
        plugin.status.loadSeconds = plugin.status.startSeconds = None
        self._statusChanged()
        elapsedMs = (self._reactor.seconds() - began) * 1000
        logger.info("%s: disabled in %.1f ms: %s", plugin.name, elapsedMs, reason)

    async def _enable(self, name: str) -> ControlOutcome:
        began = self._reactor.seconds()
        isNew = name not in self._plugins
        if isNew and not self._stopping:
            try:
                metadata = readPluginMetadata(name, _packageDir(name))
            except PluginValidationError as e:
                raise PluginControlError(name, e.message) from None
            if not runsOnService(metadata, self.spec):
                raise PluginNotHereError(name, f"does not run on the {self.spec.key} service")
            self._enabled.append(name)
            self._plugins[name] = LoadedPlugin(name)
        plugin = self._controllable(name)
        if not isNew and plugin.status.state not in _ENABLEABLE_STATES:
            return _outcome(plugin, "enable", changed=False)
        group = [name] + [n for n in self._order if self._plugins[n]._disabledWith == name]
        leftovers = pluginModuleNames(group)
        if leftovers:  # a plugin that failed after importing part of its code
            self._checkCodeCanGo(name, group)
            forgetPluginCode(group)
        for member in group:
            self._plugins[member] = LoadedPlugin(member)
            self._prepare(self._plugins[member])
        requires = {p.name: p.requiresPlugins for p in self._plugins.values()}
        order, errors = orderPlugins(self._enabled, requires)
        self._order = order + [n for n in self._enabled if n not in order]
        for member, reason in errors.items():
            fresh = self._plugins[member]
            if member in group and fresh.status.state is PluginState.PENDING:
                self._fail(fresh, reason, error=PluginDependencyError(member, reason))
        await self._advance()
        plugin = self._plugins[name]
        return _outcome(
            plugin, "enable", dependants=tuple(group[1:]), seconds=self._reactor.seconds() - began
        )

    async def _loadAll(self) -> None:
        for plugin in self._plugins.values():
            self._prepare(plugin)
        requires = {p.name: p.requiresPlugins for p in self._plugins.values()}
        self._order, errors = orderPlugins(self._enabled, requires)
        for name, reason in errors.items():
            plugin = self._plugins[name]
            if plugin.status.state is PluginState.PENDING:
                self._fail(plugin, reason, error=PluginDependencyError(name, reason))
        self._order += [name for name in self._enabled if name not in self._order]
        await self._beforeLoadAll()
        await self._advance()

    async def _beforeLoadAll(self) -> None:
        """Call each extension's optional ``beforeLoadAll`` with the plugins about to load;
        a failure is only logged (each plugin's ``beforeLoad`` still runs)."""
        pending = [
            self._plugins[name]
            for name in self._order
            if self._plugins[name].status.state is PluginState.PENDING
        ]
        for extension in self._extensions:
            beforeLoadAll = getattr(extension, "beforeLoadAll", None)
            if beforeLoadAll is None or not pending:
                continue
            outcome = await self._call(partial(beforeLoadAll, pending))
            if isinstance(outcome, _Failed):
                logger.warning(
                    "%s.beforeLoadAll failed, each plugin is prepared on its own: %s",
                    type(extension).__name__,
                    outcome.failure.getTraceback(),
                )

    async def _startAll(self) -> None:
        self._startRequested = True
        await self._advance()

    async def _advance(self) -> None:
        """Load (and, once ``startAll`` was called, start) every plugin whose turn came.

        Goes through the load order, so a plugin is loaded (started) only after what it
        requires is loaded (started). A plugin whose requirement is pending or retrying
        waits (it stays ``PENDING`` or ``LOADED``); one whose requirement failed fails.
        Called again after each retry, so the plugins waiting for it catch up.
        """
        for name in self._order:
            if self._stopping:
                return
            plugin = self._plugins[name]
            if plugin.status.state is PluginState.PENDING and self._requirementsMet(
                plugin, PluginState.LOADED
            ):
                await self._load(plugin)
            if not self._startRequested or self._stopping:
                continue
            if plugin.status.state is not PluginState.LOADED:
                continue
            if self._requirementsMet(plugin, PluginState.STARTED):
                await self._start(plugin)
            elif plugin.status.state is PluginState.FAILED:
                await self._undo(plugin)

    async def _stopAll(self) -> None:
        for name in reversed(self._order):
            plugin = self._plugins[name]
            if not plugin._needsStop:
                continue
            plugin._needsStop = False
            began = self._reactor.seconds()
            outcome = await self._call(_hook(plugin).stop, deadline=True)
            if isinstance(outcome, _Failed):
                self._recordAfterFailure(plugin, "stop", outcome.failure)
                continue
            if plugin.status.state is not PluginState.FAILED:
                plugin.status.state = PluginState.STOPPED
                self._statusChanged()
            logger.info("%s: stopped in %.1f ms", name, (self._reactor.seconds() - began) * 1000)

    async def _unloadAll(self) -> None:
        for name in reversed(self._order):
            plugin = self._plugins[name]
            if not plugin._needsUnload:
                continue
            plugin._needsUnload = False
            began = self._reactor.seconds()
            outcome = await self._call(_hook(plugin).unload, deadline=True)
            if isinstance(outcome, _Failed):
                self._recordAfterFailure(plugin, "unload", outcome.failure)
            else:
                if plugin.status.state is not PluginState.FAILED:
                    plugin.status.state = PluginState.UNLOADED
                    self._statusChanged()
                elapsedMs = (self._reactor.seconds() - began) * 1000
                logger.info("%s: unloaded in %.1f ms", name, elapsedMs)
            self._releaseRegistrations(plugin)
            await self._runAfterUnload(plugin, record=True)

    # -- steps --------------------------------------------------------------------------

    def _prepare(self, plugin: LoadedPlugin) -> None:
        """Locate the package (without importing it), read its metadata, skip if not ours."""
        try:
            plugin.rootDir = _packageDir(plugin.name)
            plugin.metadata = readPluginMetadata(plugin.name, plugin.rootDir)
        except Exception as e:
            self._failException(plugin, "", e)
            return
        plugin.status.version = plugin.metadata.version
        if not runsOnService(plugin.metadata, self.spec):
            accepts = ", ".join(
                [self.spec.key, *sorted(self.spec.requiresServicesKeys - {self.spec.key})]
            )
            reason = (
                f"requiresServices {list(plugin.metadata.requiresServices)} does not include "
                f"this service ({self.spec.key}; accepts {accepts})"
            )
            plugin.status.state = PluginState.SKIPPED
            plugin.status.reason = reason
            self._statusChanged()
            logger.info("%s: skipped, %s", plugin.name, reason)

    def _requirementsMet(self, plugin: LoadedPlugin, needed: PluginState) -> bool:
        """Whether every plugin ``plugin`` requires has reached ``needed`` (loaded/started).

        A requirement still on its way (pending, retrying, or loaded and not yet started)
        makes ``plugin`` wait, with a reason naming it; any other state fails ``plugin``.
        """
        for dep in plugin.requiresPlugins:
            depState = self._plugins[dep].status.state
            if depState in _REACHED[needed]:
                continue
            if depState in _ON_THE_WAY[needed]:
                reason = f"waiting for {dep}, which is {depState.value}"
                if plugin.status.reason != reason:
                    plugin.status.reason = reason
                    self._statusChanged()
                    logger.info("%s: %s", plugin.name, reason)
                return False
            if depState is PluginState.SKIPPED:
                reason = f"requires {dep}, which does not run on the {self.spec.key} service"
            elif depState is PluginState.DISABLED:
                reason = f"requires {dep}, which is disabled"
            else:
                reason = f"requires {dep}, which failed"
            self._fail(plugin, reason, error=PluginDependencyError(plugin.name, reason))
            return False
        return True

    async def _load(self, plugin: LoadedPlugin) -> None:
        """Import, construct, run the extensions' ``beforeLoad`` and call ``load()``."""
        began = self._reactor.seconds()
        try:
            module = importlib.import_module(plugin.name)
        except Exception as e:
            self._failException(plugin, "import failed: ", e)
            return
        try:
            hookClass = entryHookClass(module, self.spec)
        except Exception as e:
            self._failException(plugin, "", e)
            return
        rootDir = plugin.rootDir
        assert rootDir is not None  # found by _prepare, else the plugin is not PENDING
        try:
            plugin.platform = self._platformFactory(plugin.name, rootDir, self)
            plugin.entryHook = hookClass(plugin.name, str(rootDir), plugin.platform)
        except Exception as e:
            self._failException(plugin, "construct failed: ", e)
            self._releaseRegistrations(plugin)
            return
        for extension in self._extensions:
            outcome = await self._call(partial(extension.beforeLoad, plugin))
            if isinstance(outcome, _Failed):
                step = f"{type(extension).__name__}.beforeLoad"
                self._failCall(plugin, step, outcome.failure)
                await self._undo(plugin)
                return
            plugin._preparedBy.append(extension)
        plugin._needsUnload = True
        outcome = await self._call(_hook(plugin).load, deadline=True)
        if isinstance(outcome, _Failed):
            if outcome.failure.check(PluginNotReadyError):
                await self._undo(plugin)
                # Unloaded: no API is offered from it; the retry builds both again.
                plugin.entryHook = None
                plugin.platform = None
                await self._retryLater(plugin, "load", outcome.failure)
                return
            self._failCall(plugin, "load", outcome.failure)
            await self._undo(plugin)
            return
        plugin.status.loadSeconds = self._reactor.seconds() - began
        _clearRetry(plugin)
        plugin.status.state = PluginState.LOADED
        self._statusChanged()
        logger.info("%s: loaded in %.1f ms", plugin.name, plugin.status.loadSeconds * 1000)

    async def _start(self, plugin: LoadedPlugin) -> None:
        """Call ``start()`` of a loaded plugin whose requirements have started."""
        began = self._reactor.seconds()
        plugin._needsStop = True
        outcome = await self._call(_hook(plugin).start, deadline=True)
        if isinstance(outcome, _Failed):
            if outcome.failure.check(PluginNotReadyError):
                # start() was entered: stop() undoes what it did; the plugin stays loaded.
                plugin._needsStop = False
                stopped = await self._call(_hook(plugin).stop, deadline=True)
                if isinstance(stopped, _Failed):
                    self._failCall(plugin, "stop after a not-ready start", stopped.failure)
                    await self._undo(plugin)
                    return
                await self._retryLater(plugin, "start", outcome.failure)
                return
            self._failCall(plugin, "start", outcome.failure)
            await self._undo(plugin)
            return
        plugin.status.startSeconds = self._reactor.seconds() - began
        _clearRetry(plugin)
        plugin.status.state = PluginState.STARTED
        self._statusChanged()
        logger.info("%s: started in %.1f ms", plugin.name, plugin.status.startSeconds * 1000)

    # -- retrying -----------------------------------------------------------------------

    def retryDelay(self, attempt: int) -> float:
        """Seconds before retry number ``attempt`` (1 for the first): capped doubling."""
        return min(self.retryInitialSeconds * 2 ** (attempt - 1), self.retryMaxSeconds)

    async def _retryLater(self, plugin: LoadedPlugin, step: str, failure: Failure) -> None:
        """``step`` of ``plugin`` raised PluginNotReadyError: schedule it again, or give up.

        Gives up (``FAILED``) once ``retryMaxAttempts`` retries were not ready either; while
        the service stops, marks the plugin ``STOPPED`` instead of scheduling.
        """
        message = failure.getErrorMessage()
        status = plugin.status
        attempt = (status.attempt or 0) + 1
        if self._stopping:
            _clearRetry(plugin)
            status.state = PluginState.STOPPED
            status.reason = f"{step} was not ready when the service stopped: {message}"
            self._statusChanged()
            logger.info("%s: %s", plugin.name, status.reason)
            return
        if self.retryMaxAttempts is not None and attempt > self.retryMaxAttempts:
            retries = attempt - 1
            reason = f"{step} still not ready after {retries} retries, giving up: {message}"
            self._fail(plugin, reason, failure=failure)
            if plugin._needsUnload:  # a not-ready start(); a not-ready load() is undone
                await self._undo(plugin)
            return
        delay = self.retryDelay(attempt)
        plugin._retryStep = step
        plugin._retryMessage = message
        status.state = PluginState.RETRYING
        status.attempt = attempt
        status.nextRetryAt = self._reactor.seconds() + delay
        status.reason = f"retrying in {delay:g} s (attempt {attempt}): {message}"
        status.traceback = None
        self._retryCalls[plugin.name] = self._reactor.callLater(delay, self._retryNow, plugin)
        self._statusChanged()
        logger.warning("%s: %s not ready, %s", plugin.name, step, status.reason)

    def _retryNow(self, plugin: LoadedPlugin) -> Deferred[None]:
        """The delay of ``plugin``'s retry passed: run the retry under the lock."""
        self._retryCalls.pop(plugin.name, None)
        d = Deferred.fromCoroutine(self._exclusive(partial(self._retry, plugin)))

        def logUnexpected(failure: Failure) -> None:
            logger.error("%s: retry went wrong\n%s", plugin.name, failure.getTraceback())

        d.addErrback(logUnexpected)
        return d

    async def _retry(self, plugin: LoadedPlugin) -> None:
        """Run the step that was not ready again, then let waiting plugins catch up."""
        if self._stopping or plugin.status.state is not PluginState.RETRYING:
            return
        logger.info(
            "%s: retrying %s (attempt %s)", plugin.name, plugin._retryStep, plugin.status.attempt
        )
        if plugin._retryStep == "load":
            await self._load(plugin)
        else:
            await self._start(plugin)
        await self._advance()

    def _cancelRetries(self) -> None:
        """Cancel every pending retry; the plugins waiting for one become ``STOPPED``."""
        while self._retryCalls:
            name, call = self._retryCalls.popitem()
            if call.active():
                call.cancel()
            plugin = self._plugins[name]
            status = plugin.status
            attempt = status.attempt
            _clearRetry(plugin)
            status.state = PluginState.STOPPED
            status.reason = (
                f"stopped before retry {attempt} of {plugin._retryStep}: {plugin._retryMessage}"
            )
            self._statusChanged()
            logger.info("%s: pending retry cancelled, the service is stopping", name)

    async def _undo(self, plugin: LoadedPlugin, *, record: bool = False) -> bool:
        """Stop, unload, release and ``afterUnload`` what ``plugin`` set up; True when every
        step succeeded. Failures are logged as cleanup of a plugin that already failed, or
        with ``record`` make the plugin ``FAILED``."""
        succeeded = True
        for step in ("stop", "unload"):
            flag = "_needsStop" if step == "stop" else "_needsUnload"
            if not getattr(plugin, flag):
                continue
            setattr(plugin, flag, False)
            outcome = await self._call(getattr(_hook(plugin), step), deadline=True)
            if isinstance(outcome, _Failed):
                succeeded = False
                self._stepFailed(plugin, step, outcome.failure, record=record)
        self._releaseRegistrations(plugin)
        return await self._runAfterUnload(plugin, record=record) and succeeded

    async def _runAfterUnload(self, plugin: LoadedPlugin, *, record: bool) -> bool:
        """Call ``afterUnload`` of the extensions that prepared ``plugin``, in reverse; True
        when every one succeeded."""
        succeeded = True
        while plugin._preparedBy:
            extension = plugin._preparedBy.pop()
            outcome = await self._call(partial(extension.afterUnload, plugin))
            if isinstance(outcome, _Failed):
                succeeded = False
                step = f"{type(extension).__name__}.afterUnload"
                self._stepFailed(plugin, step, outcome.failure, record=record)
        return succeeded

    def _stepFailed(
        self, plugin: LoadedPlugin, step: str, failure: Failure, *, record: bool
    ) -> None:
        """A stop/unload/afterUnload step failed: record it (``FAILED``) or just log it."""
        if record:
            self._recordAfterFailure(plugin, step, failure)
        else:
            self._logCleanupFailure(plugin, step, failure)

    def _releaseRegistrations(self, plugin: LoadedPlugin) -> None:
        """Undo what the platform hook registered for ``plugin`` (HTTP resources, ...)."""
        release = getattr(plugin.platform, "releaseRegistrations", None)
        if release is not None:
            release()

    # -- calling and recording ----------------------------------------------------------

    def _call(
        self, function: Callable[[], object], *, deadline: bool = False
    ) -> Deferred[_Failed | None]:
        """Call ``function``; fire with None or :class:`_Failed`, never errback.

        The result may be a plain value, a Deferred or a coroutine; ``deadline`` adds the
        plugin deadline on the injected reactor.
        """

        def invoke() -> object:
            result = function()
            if isinstance(result, CoroutineType):
                return Deferred.fromCoroutine(result)
            return result

        d = defer.maybeDeferred(invoke)
        if deadline:
            d.addTimeout(self._deadlineSeconds, self._reactor)
        return d.addCallbacks(lambda _: None, _Failed)

    def _failCall(self, plugin: LoadedPlugin, step: str, failure: Failure) -> None:
        """Mark ``plugin`` failed because lifecycle ``step`` failed or passed its deadline."""
        self._fail(plugin, _describe(step, failure, self._deadlineSeconds), failure=failure)

    def _failException(self, plugin: LoadedPlugin, prefix: str, error: Exception) -> None:
        """Mark ``plugin`` failed by ``error`` raised while preparing or importing it."""
        if isinstance(error, PluginError) and error.pluginName == plugin.name:
            reason = prefix + error.message
        else:
            reason = f"{prefix}{type(error).__name__}: {error}"
        self._fail(plugin, reason, failure=Failure(error), error=error)

    def _fail(
        self,
        plugin: LoadedPlugin,
        reason: str,
        *,
        failure: Failure | None = None,
        error: Exception | None = None,
    ) -> None:
        """Record and log (once) that ``plugin`` failed, with its traceback when known."""
        _clearRetry(plugin)
        plugin.status.state = PluginState.FAILED
        plugin.status.reason = reason
        plugin.status.traceback = failure.getTraceback() if failure is not None else None
        self._statusChanged()
        if failure is not None and not isinstance(error, PluginValidationError):
            logger.error("%s: %s\n%s", plugin.name, reason, plugin.status.traceback)
        else:
            logger.error("%s: %s", plugin.name, reason)

    def _logCleanupFailure(self, plugin: LoadedPlugin, step: str, failure: Failure) -> None:
        """Log a failed cleanup step of a plugin whose own failure is already recorded."""
        reason = _describe(step, failure, self._deadlineSeconds)
        logger.error(
            "%s: %s (cleanup after failure)\n%s", plugin.name, reason, failure.getTraceback()
        )

    def _recordAfterFailure(self, plugin: LoadedPlugin, step: str, failure: Failure) -> None:
        """Record a stop/unload/afterUnload failure without interrupting the sequence."""
        reason = _describe(step, failure, self._deadlineSeconds)
        status = plugin.status
        status.state = PluginState.FAILED
        status.reason = reason if not status.reason else f"{status.reason}; {reason}"
        trace = failure.getTraceback()
        status.traceback = trace if not status.traceback else f"{status.traceback}\n{trace}"
        self._statusChanged()
        logger.error("%s: %s\n%s", plugin.name, reason, trace)


#: States a plugin has while it is not running and nothing is on its way (for dependants).
_INERT_STATES = frozenset({PluginState.DISABLED, PluginState.SKIPPED})
#: States from which a runtime enable loads the plugin afresh.
_ENABLEABLE_STATES = frozenset(
    {PluginState.DISABLED, PluginState.FAILED, PluginState.STOPPED, PluginState.UNLOADED}
)


def _outcome(
    plugin: LoadedPlugin,
    action: str,
    *,
    changed: bool = True,
    dependants: tuple[str, ...] = (),
    seconds: float = 0.0,
) -> ControlOutcome:
    """The outcome of ``action`` on ``plugin``, with its state and reason now."""
    return ControlOutcome(
        pluginName=plugin.name,
        action=action,
        changed=changed,
        state=plugin.status.state,
        reason=plugin.status.reason,
        dependants=dependants,
        seconds=seconds,
    )


def _clearRetry(plugin: LoadedPlugin) -> None:
    """Forget the retry bookkeeping of ``plugin`` (it left ``RETRYING``); clears ``reason``."""
    plugin.status.attempt = None
    plugin.status.nextRetryAt = None
    plugin.status.reason = None


def _hook(plugin: LoadedPlugin) -> PluginCommonEntryHookABC:
    """The entry hook of a plugin the loader has constructed (its state or flags say so)."""
    if plugin.entryHook is None:
        raise RuntimeError(f"{plugin.name}: the entry hook has not been constructed")
    return plugin.entryHook


def _packageDir(pluginName: str) -> Path:
    """Directory of the installed package ``pluginName``, found without importing it."""
    spec = importlib.util.find_spec(pluginName)
    if spec is None:
        raise PluginValidationError(
            pluginName,
            "package not found on sys.path; install it in this service's environment or "
            'remove it from "plugin.enabled"',
        )
    locations = list(spec.submodule_search_locations or [])
    if not locations:
        raise PluginValidationError(
            pluginName,
            f"{spec.origin} is a module, not a package; a plugin is a package directory "
            "holding __init__.py and plugin_package.json",
        )
    return Path(locations[0])


def _describe(step: str, failure: Failure, deadlineSeconds: float) -> str:
    """One-line reason for a failed call, naming the step and the deadline if passed."""
    if failure.check(defer.TimeoutError):
        return f"{step} did not finish within the {deadlineSeconds:g} s deadline and was cancelled"
    return f"{step} failed: {failure.type.__name__}: {failure.getErrorMessage()}"
