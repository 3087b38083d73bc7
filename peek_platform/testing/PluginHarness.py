"""Run one plugin through the real plugin loader of one service, inside a test process.

In the spirit of Nameko's ``worker_factory``/``entrypoint_hook``: the plugin gets the
real entry-hook lookup, the real platform hook of the service and (on logic) the real
storage setup on SQLite, without starting a service process. The plugin must be
importable (installed, or its directory on ``sys.path``).

Each lifecycle method returns a Deferred that errbacks with :class:`PluginHarnessError`
when the plugin does not reach the expected state; :meth:`PluginHarness.wait` blocks on
one by iterating the reactor (plain pytest, no running reactor), and
:meth:`PluginHarness.running` loads and starts, then stops and unloads, around a block.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.python.threadpool import ThreadPool

from peek_platform.plugin.loader import LoadedPlugin, PluginLoader
from peek_platform.plugin.state import PluginState, PluginStatus
from peek_platform.process.context import ServiceContext, ServiceExtension
from peek_platform.services import LOGIC, ServiceSpec
from peek_platform.testing.ServiceBuilder import makeServiceContext, serviceSites, serviceSpec
from peek_plugin_base.testing.ReactorWait import DEFAULT_TIMEOUT, waitForDeferred


class PluginHarnessError(AssertionError):
    """The plugin under test did not reach the state a lifecycle step should leave it in."""


class PooledReactor:
    """``reactor`` with a thread pool of the harness's own (one that runs before ``run()``)."""

    def __init__(self, reactor: Any, pool: ThreadPool) -> None:
        self._reactor = reactor
        self._pool = pool

    def getThreadPool(self) -> ThreadPool:
        """The harness's running pool; the global reactor's starts only with ``run()``."""
        return self._pool

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reactor, name)


class PluginHarness:
    """One plugin on one service: ``load()``, ``start()``, ``stop()``, ``unload()``, ``close()``.

    ``config`` holds ``config.json`` settings of the service (dotted keys or nested dicts),
    written into ``home``. On logic, ``storage`` (default on) runs the storage extension:
    the database is ``sqlalchemy.connectUrl``, or an SQLite file in ``home`` when unset.
    """

    def __init__(
        self,
        service: str | ServiceSpec,
        pluginName: str,
        home: Path,
        config: Mapping[str, Any] | None = None,
        *,
        storage: bool | None = None,
        reactor: Any = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.spec = serviceSpec(service)
        self.pluginName = pluginName
        self.home = Path(home)
        self.timeout = timeout
        if storage and self.spec is not LOGIC:
            raise ValueError(
                f"PluginHarness({self.spec.key!r}, {pluginName!r}): storage runs on the logic "
                "service only; drop storage=True"
            )
        self._extensions: list[ServiceExtension] = []
        if storage is None or storage:
            if self.spec is LOGIC:
                from peek_platform.storage.extension import StorageServiceExtension

                self._extensions.append(StorageServiceExtension())
        if reactor is None:
            from twisted.internet import reactor
        self._pool = ThreadPool(minthreads=0, maxthreads=4, name=f"peek-harness-{pluginName}")
        self._pool.start()
        self.reactor = PooledReactor(reactor, self._pool)
        #: The service's site resource trees by name (``"admin"``, ``"logic"``, ``"field"``...).
        self.sites = serviceSites(self.spec)
        self.ctx: ServiceContext = makeServiceContext(
            self.spec,
            self.home,
            config,
            plugins=[pluginName],
            reactor=self.reactor,
            extensions=self._extensions,
            sites=self.sites,
        )
        self._startedExtensions: list[ServiceExtension] = []
        self._closed = False

    # -- what the plugin got ------------------------------------------------------------

    @property
    def loader(self) -> PluginLoader:
        """The real plugin loader driving the plugin."""
        assert self.ctx.loader is not None
        return self.ctx.loader

    @property
    def plugin(self) -> LoadedPlugin:
        """The loader's record of the plugin (package dir, metadata, hooks, status)."""
        plugin = self.loader.plugin(self.pluginName)
        assert plugin is not None
        return plugin

    @property
    def status(self) -> PluginStatus:
        """The plugin's current status (state, reason, traceback)."""
        return self.plugin.status

    @property
    def entryHook(self) -> Any:
        """The plugin's entry hook, as constructed by the loader; available after ``load()``."""
        if self.plugin.entryHook is None:
            raise PluginHarnessError(self._describe("has no entry hook; call load() first"))
        return self.plugin.entryHook

    @property
    def platform(self) -> Any:
        """The platform hook the plugin was given; available after ``load()``."""
        if self.plugin.platform is None:
            raise PluginHarnessError(self._describe("has no platform hook; call load() first"))
        return self.plugin.platform

    # -- lifecycle (Deferreds) ----------------------------------------------------------

    def load(self) -> Deferred[None]:
        """Start the service extensions (storage on logic), then load the plugin."""
        return Deferred.fromCoroutine(self._load())

    def start(self) -> Deferred[None]:
        """Start the loaded plugin, then finish starting the service extensions."""
        return Deferred.fromCoroutine(self._start())

    def stop(self) -> Deferred[None]:
        """Stop the started plugin."""
        return self._step(self.loader.stopAll, "stop", PluginState.STOPPED)

    def unload(self) -> Deferred[None]:
        """Unload the plugin, then stop the service extensions (closing its database)."""
        return Deferred.fromCoroutine(self._unload())

    async def _load(self) -> None:
        for extension in self._extensions:
            await maybeDeferred(extension.startBeforePlugins, self.ctx)
            self._startedExtensions.append(extension)
        await self._step(self.loader.loadAll, "load", PluginState.LOADED)

    async def _start(self) -> None:
        await self._step(self.loader.startAll, "start", PluginState.STARTED)
        for extension in self._startedExtensions:
            await maybeDeferred(extension.startAfterPlugins, self.ctx)

    async def _unload(self) -> None:
        try:
            await self._step(self.loader.unloadAll, "unload", PluginState.UNLOADED)
        finally:
            await self._stopExtensions()

    async def _stopExtensions(self) -> None:
        while self._startedExtensions:
            extension = self._startedExtensions.pop()
            await maybeDeferred(extension.stopAfterPlugins, self.ctx)

    def _step(self, call: Any, step: str, expected: PluginState) -> Deferred[None]:
        """Run one loader step; errback unless the plugin is then in ``expected``."""

        def check(_: object) -> None:
            if self.status.state is not expected:
                raise PluginHarnessError(
                    self._describe(f"{step}: expected {expected.value}, is {self._state()}")
                )

        return call().addCallback(check)

    def _state(self) -> str:
        """The plugin state with its reason and traceback, for error messages."""
        status = self.status
        text = status.state.value
        if status.reason:
            text += f" ({status.reason})"
        if status.traceback:
            text += f"\n{status.traceback}"
        return text

    def _describe(self, problem: str) -> str:
        return f"{self.pluginName} on the {self.spec.key} service (home {self.home}): {problem}"

    # -- blocking helpers ---------------------------------------------------------------

    def wait(self, d: Deferred) -> Any:
        """Block until ``d`` fires, iterating the reactor; its result, or raise its failure."""
        return waitForDeferred(d, reactor=self.reactor, timeout=self.timeout)

    @contextmanager
    def running(self) -> Iterator[Any]:
        """Load and start the plugin, yield its entry hook, then stop and unload it."""
        try:
            self.wait(self.load())
            self.wait(self.start())
            yield self.entryHook
        finally:
            self.close()

    def close(self) -> None:
        """Stop and unload whatever still runs, stop the extensions and the thread pool.

        Safe to call more than once and after a failed step; raises the first failure of
        the cleanup after finishing it.
        """
        if self._closed:
            return
        self._closed = True
        try:
            self.wait(self.loader.stopAll())
            self.wait(self.loader.unloadAll())
        finally:
            try:
                self.wait(Deferred.fromCoroutine(self._stopExtensions()))
            finally:
                self._pool.stop()
