"""The logic service's storage: migrate the platform schema, then each plugin before load().

Migrations run one plugin at a time in the reactor's thread pool (never on the reactor
thread); the loader waits on the Deferred. A failing migration fails only its plugin. After
its migration, a plugin's pending install or upgrade hooks run (``plugin_install``).

Before the first plugin loads, ``beforeLoadAll`` reads every plugin's schema version and
install record in one go: a plugin found at its remembered head and recorded at its version
then needs no database round trip of its own to load. On PostgreSQL every connection shares
one engine, so its pool bounds the server connections however many plugins there are.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from twisted.internet import threads
from twisted.internet.defer import Deferred, DeferredLock
from twisted.python import threadable

from peek_platform.config import ServiceConfig
from peek_platform.platform_hook import PLUGIN_DATA_DIR
from peek_platform.process.context import ServiceContext, ServiceExtensionBase, ServiceReactor
from peek_platform.storage.db_config import dbSettingsFromConfig
from peek_platform.storage.migration_check import (
    HEADS_CACHE_FILE,
    AlembicHeadsCache,
    migrateUnlessAtHead,
    schemasAtHead,
)
from peek_platform.storage.platform_schema import PLATFORM_ALEMBIC_DIR, platformMetadata
from peek_platform.storage.plugin_install import (
    installDbConnection,
    isRecordedAt,
    isSameVersion,
    loadInstallHooks,
    recordedVersions,
    runInstallSteps,
)
from peek_platform.storage.plugin_settings import (
    PluginSettings,
    PluginSettingsStore,
    PluginSettingValue,
)
from peek_platform.storage.plugin_storage import (
    PluginStorage,
    PluginStorageError,
    checkMetadataSchema,
    pluginStorage,
)
from peek_plugin_base.logic.PeekLogicPlatformHookABC import PeekLogicPlatformHookABC
from peek_plugin_base.logic.PluginLogicStorageEntryHookABC import PluginLogicStorageEntryHookABC
from peek_plugin_base.settings.PluginSetting import PluginSetting, parseSettingDeclarations
from peek_plugin_base.storage.DbConnection import DbConnection
from peek_plugin_base.storage.DbEngine import createDbEngine, sqliteDatabasePath

if TYPE_CHECKING:
    from sqlalchemy import MetaData
    from sqlalchemy.engine import Engine

    from peek_platform.plugin.loader import LoadedPlugin

logger = logging.getLogger(__name__)


class StorageServiceExtension(ServiceExtensionBase):
    """Logic ``ServiceExtension``: database connection, migrations and plugin settings."""

    def __init__(self, isReactorThread: Callable[[], bool] = threadable.isInIOThread) -> None:
        self._isReactorThread = isReactorThread
        self._url: str | None = None
        self._engineArgs: dict[str, Any] = {}
        self._home: Path | None = None
        self._reactor: ServiceReactor = None
        self._platformDb: DbConnection | None = None
        self._settingsStore: PluginSettingsStore | None = None
        self._pluginDbs: dict[str, DbConnection] = {}
        self._pluginSettings: dict[str, tuple[PluginSetting, ...]] = {}
        self._migrationLock = DeferredLock()
        self._headsCache = AlembicHeadsCache(None)
        #: The one engine of a server database (PostgreSQL), shared by every connection.
        self._sharedEngine: Engine | None = None
        self._sharedEngineLock = threading.Lock()
        #: From ``beforeLoadAll``, used once by each plugin's ``prepare``: the schemas found
        #: at their remembered heads and the recorded data version of each plugin read.
        self._schemasAtHead: set[str] = set()
        self._recordedVersions: dict[str, str | None] = {}

    def configure(self, ctx: ServiceContext) -> ServiceConfig:
        """Resolve the database URL and engine settings (the embedded SQLite by default)."""
        self._url, self._engineArgs = dbSettingsFromConfig(ctx.config, ctx.spec, ctx.home)
        self._home = Path(ctx.home)
        self._headsCache = AlembicHeadsCache(self._home / HEADS_CACHE_FILE)
        self._reactor = ctx.reactor
        return ctx.config

    @property
    def platformDb(self) -> DbConnection:
        """The connection to the platform schema, migrated (after ``startBeforePlugins``)."""
        if self._platformDb is None:
            raise RuntimeError("storage is not started: startBeforePlugins has not run")
        return self._platformDb

    def inThread(self, fn: Callable[..., Any], *args: Any) -> Deferred[Any]:
        """Run ``fn`` in the reactor's thread pool; Deferred of its result."""
        return threads.deferToThreadPool(self._reactor, self._reactor.getThreadPool(), fn, *args)

    def sharedEngine(self) -> Engine | None:
        """The engine every connection shares on a server database (created on first use;
        it does not connect until used); ``None`` on SQLite, where each schema's connection
        needs its own engine to attach the schema's file."""
        if self._url is None:
            raise RuntimeError("storage is not configured: configure has not run")
        with self._sharedEngineLock:
            if self._sharedEngine is None and sqliteDatabasePath(self._url) is None:
                self._sharedEngine = createDbEngine(self._url, self._engineArgs)
            return self._sharedEngine

    def newDbConnection(self, metadata: MetaData, alembicDir: str | Path) -> DbConnection:
        """A connection to the configured database for one schema (revisions always run)."""
        if self._url is None:
            raise RuntimeError("storage is not configured: configure has not run")
        return DbConnection(
            self._url,
            metadata,
            str(alembicDir),
            self._engineArgs,
            enableCreateAll=False,
            reactor=self._reactor,
            isReactorThread=self._isReactorThread,
            engine=self.sharedEngine(),
        )

    def startBeforePlugins(self, ctx: ServiceContext) -> Deferred[None]:
        """Connect and migrate the platform schema (settings, users) before plugins load."""
        self._platformDb = self.newDbConnection(platformMetadata, PLATFORM_ALEMBIC_DIR)
        self._settingsStore = PluginSettingsStore(self._platformDb)
        return self._migrationLock.run(self.inThread, self.migrate, self._platformDb)

    def migrate(self, db: DbConnection) -> None:
        """Bring ``db``'s schema to head, skipping Alembic when it is at the remembered head
        of unchanged scripts (``migration_check``; blocking)."""
        migrateUnlessAtHead(db, self._headsCache)

    def loaderExtensions(self, ctx: ServiceContext) -> Sequence[PluginStorageLoaderExtension]:
        """The per-plugin hook: migrate and attach storage and settings before ``load()``."""
        return [PluginStorageLoaderExtension(self)]

    def stopAfterPlugins(self, ctx: ServiceContext) -> Deferred[None] | None:
        """Close every connection once all plugins have unloaded, then the shared engine."""
        dbs = [*self._pluginDbs.values(), *([self._platformDb] if self._platformDb else [])]
        self._pluginDbs.clear()
        self._platformDb = None
        engine, self._sharedEngine = self._sharedEngine, None
        self._forgetPrecheck()
        if not dbs and engine is None:
            return None

        def disposeAll() -> None:
            for db in dbs:
                db.dispose()
            if engine is not None:
                engine.dispose()

        return self.inThread(disposeAll)

    @property
    def settingsStore(self) -> PluginSettingsStore:
        """The plugin settings store (after ``startBeforePlugins``)."""
        if self._settingsStore is None:
            raise RuntimeError("storage is not started: startBeforePlugins has not run")
        return self._settingsStore

    def listPluginSettings(self) -> Deferred[list[PluginSettingValue]]:
        """Every loaded plugin's declared settings with their current values (for admins)."""
        declared = [s for settings in self._pluginSettings.values() for s in settings]
        return self.inThread(self.settingsStore.readAll, declared)

    def startAfterPlugins(self, ctx: ServiceContext) -> None:
        """Forget what ``beforeLoadAll`` read: a plugin loaded later is checked afresh."""
        self._forgetPrecheck()

    def _forgetPrecheck(self) -> None:
        self._schemasAtHead = set()
        self._recordedVersions = {}

    def beforeLoadAll(self, plugins: Sequence[LoadedPlugin]) -> Deferred[None]:
        """Read the schema version and install record of all ``plugins`` at once, so that
        ``prepare`` can skip the database for each one found current (see the module)."""
        checks: list[tuple[str, str]] = []
        for plugin in plugins:
            if plugin.metadata is None or plugin.rootDir is None:
                continue
            try:
                storage = pluginStorage(plugin.name, plugin.rootDir, plugin.metadata.raw)
            except PluginStorageError:
                continue  # prepare() reports it
            if storage is not None:
                checks.append((storage.schema, str(storage.alembicDir)))
        names = [plugin.name for plugin in plugins]

        def readAll() -> tuple[set[str], dict[str, str]]:
            url = self._url
            if url is None:
                raise RuntimeError("storage is not configured: configure has not run")
            atHead = schemasAtHead(checks, self._headsCache, url, self.sharedEngine())
            return atHead, recordedVersions(self.platformDb)

        def remember(found: tuple[set[str], dict[str, str]]) -> None:
            atHead, recorded = found
            self._schemasAtHead = atHead
            self._recordedVersions = {name: recorded.get(name) for name in names}

        return self.inThread(readAll).addCallback(remember)

    async def prepare(self, plugin: LoadedPlugin) -> None:
        """Check and migrate one plugin's storage, run its install hooks, attach storage and
        settings."""
        hook, metadata, rootDir = plugin.entryHook, plugin.metadata, plugin.rootDir
        if hook is None or metadata is None or rootDir is None:
            raise RuntimeError(f"{plugin.name}: storage prepared before the plugin was built")
        packageJson = metadata.raw
        storage = pluginStorage(plugin.name, rootDir, packageJson)
        settings = parseSettingDeclarations(plugin.name, packageJson.get("settings"))
        storageHook = hook if isinstance(hook, PluginLogicStorageEntryHookABC) else None
        if storage is None and storageHook is not None:
            raise PluginStorageError(
                plugin.name,
                "the entry hook inherits PluginLogicStorageEntryHookABC but "
                'plugin_package.json has no "storage": {"alembicDir": ...} section',
            )
        hooks = loadInstallHooks(plugin.name, packageJson)
        db: DbConnection | None = None
        if storage is not None:
            if storageHook is None:
                raise PluginStorageError(
                    plugin.name,
                    'plugin_package.json declares "storage" but the logic entry hook does not '
                    "inherit PluginLogicStorageEntryHookABC (it must provide dbMetadata)",
                )
            checkMetadataSchema(storage, storageHook.dbMetadata)
            db = self.newDbConnection(storageHook.dbMetadata, storage.alembicDir)
            if storage.schema in self._schemasAtHead:
                self._schemasAtHead.discard(storage.schema)
            else:
                try:
                    await self._migrationLock.run(self.inThread, self.migrate, db)
                except Exception as e:
                    await self.inThread(db.dispose)
                    raise PluginStorageError(plugin.name, str(e)) from e
        recorded = self._recordedVersions.pop(plugin.name, None)
        if not isSameVersion(recorded, metadata.version):
            try:
                await self._migrationLock.run(
                    self.inThread, self._install, plugin.name, metadata.version, storage, hooks
                )
            except Exception:
                if db is not None:
                    await self.inThread(db.dispose)
                raise
        if storage is not None and db is not None:
            _logicPlatform(plugin).pluginStorage = db
            self._pluginDbs[plugin.name] = db
            logger.info("%s: schema %s is at its newest revision", plugin.name, storage.schema)
        if settings:
            _logicPlatform(plugin).pluginSettings = PluginSettings(
                settings, self.settingsStore, self._reactor
            )
            self._pluginSettings[plugin.name] = settings

    def _install(
        self, pluginName: str, version: str, storage: PluginStorage | None, hooks: Any
    ) -> None:
        """Run the plugin's pending install or upgrade hooks and record its version (blocking)."""
        if self._url is None or self._home is None:
            raise RuntimeError("storage is not configured: configure has not run")
        if isRecordedAt(self.platformDb, pluginName, version):
            return
        db = installDbConnection(
            self._url,
            self._engineArgs,
            storage,
            isReactorThread=self._isReactorThread,
            engine=self.sharedEngine(),
        )
        try:
            steps = runInstallSteps(
                db, pluginName, version, hooks, self._home / PLUGIN_DATA_DIR / pluginName
            )
        finally:
            db.dispose()
        if steps:
            logger.info(
                "%s: data is at version %s (%s)",
                pluginName,
                version,
                ", ".join(step.describe() for step in steps),
            )

    async def release(self, plugin: LoadedPlugin) -> None:
        """Detach and close what ``prepare`` set up for ``plugin``."""
        if self._pluginSettings.pop(plugin.name, None) is not None:
            _logicPlatform(plugin).pluginSettings = None
        db = self._pluginDbs.pop(plugin.name, None)
        if db is not None:
            _logicPlatform(plugin).pluginStorage = None
            await self.inThread(db.dispose)


class PluginStorageLoaderExtension:
    """``LoaderExtension`` delegating to :class:`StorageServiceExtension`."""

    def __init__(self, storage: StorageServiceExtension) -> None:
        self._storage = storage

    def beforeLoad(self, plugin: LoadedPlugin) -> Deferred[None]:
        """Migrate the plugin's schema and attach its connection and settings."""
        return Deferred.fromCoroutine(self._storage.prepare(plugin))

    def afterUnload(self, plugin: LoadedPlugin) -> Deferred[None]:
        """Close the plugin's connection."""
        return Deferred.fromCoroutine(self._storage.release(plugin))


def _logicPlatform(plugin: LoadedPlugin) -> PeekLogicPlatformHookABC:
    """The platform hook storage attaches to: storage runs on logic, whose hooks are these."""
    return cast(PeekLogicPlatformHookABC, plugin.platform)
