"""Storage for many plugins: one read before loading replaces each current plugin's own
round trips, without weakening the migration check; PostgreSQL holds a bounded number of
server connections however many plugin storages there are."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from twisted.internet import threads

from peek_platform.process.context import ServiceContext
from peek_platform.services import LOGIC
from peek_platform.storage.extension import StorageServiceExtension
from peek_platform.storage.plugin_storage import PluginStorageError

R2_UPGRADE = """
op.execute("INSERT INTO {schema}.run_log (revision) VALUES ('r2')")
"""

#: Plugin storages opened by the connection-count test.
MANY_PLUGINS = 120
#: The shared engine's pool bound: SQLAlchemy's default pool_size 5 + max_overflow 10.
MAX_SERVER_CONNECTIONS = 15


class CountingStorage(StorageServiceExtension):
    """The real extension, counting the per-plugin database round trips of ``prepare``."""

    def __init__(self) -> None:
        super().__init__()
        self.migrations: list[str] = []
        self.installs: list[str] = []

    def migrate(self, db: Any) -> None:
        self.migrations.append(db.schema)
        super().migrate(db)

    def _install(self, pluginName: str, *args: Any) -> None:
        self.installs.append(pluginName)
        super()._install(pluginName, *args)


def startStorage(dbUrl, home, reactor, wait, engineArgs=None) -> tuple:
    """A started CountingStorage on ``dbUrl``, its loader extension and context."""
    config = {"sqlalchemy.connectUrl": dbUrl, "sqlalchemy.engineArgs": engineArgs or {}}
    ctx = ServiceContext(spec=LOGIC, home=home, config=config, reactor=reactor)
    storage = CountingStorage()
    storage.configure(ctx)
    [loaderExtension] = storage.loaderExtensions(ctx)
    wait(storage.startBeforePlugins(ctx))
    return storage, loaderExtension, ctx


def loadPass(storage, loaderExtension, plugins, wait) -> None:
    """What the loader does at start: beforeLoadAll, then beforeLoad of each plugin."""
    wait(storage.beforeLoadAll(plugins))
    for plugin in plugins:
        wait(loaderExtension.beforeLoad(plugin))


def inThread(reactor, wait, fn) -> Any:
    return wait(threads.deferToThreadPool(reactor, reactor.getThreadPool(), fn))


def runLog(plugin, reactor, wait) -> list[str]:
    """The revisions recorded in the plugin's ``run_log``, read through its attached storage."""
    db = plugin.platform.pluginStorage

    def read() -> list[str]:
        with db.dbEngine.connect() as conn:
            return list(
                conn.execute(sa.text(f"SELECT revision FROM {db.schema}.run_log")).scalars()
            )

    return inThread(reactor, wait, read)


def test_currentPluginsNeedNoRoundTripOfTheirOwn(
    dbUrl, tmp_path, makePlugin, peekThreadReactor, wait
):
    """On a warm start every plugin found at its remembered head and recorded at its
    version is attached without a migration or install call of its own."""
    writers = [makePlugin(name) for name in ("alpha", "beta", "gamma")]
    storage, loaderExtension, ctx = startStorage(dbUrl, tmp_path, peekThreadReactor, wait)
    loadPass(storage, loaderExtension, [w.loaded() for w in writers], wait)
    assert len(storage.migrations) == 4 and len(storage.installs) == 3  # platform + 3
    wait(storage.stopAfterPlugins(ctx))

    storage, loaderExtension, ctx = startStorage(dbUrl, tmp_path, peekThreadReactor, wait)
    plugins = [w.loaded() for w in writers]
    loadPass(storage, loaderExtension, plugins, wait)
    assert (storage.migrations, storage.installs) == (["peek_platform"], [])
    assert all(p.platform.pluginStorage is not None for p in plugins)
    assert runLog(plugins[1], peekThreadReactor, wait) == ["r1"]
    wait(storage.stopAfterPlugins(ctx))


def test_schemaBehindIsStillMigratedAfterTheBatchRead(
    dbUrl, tmp_path, makePlugin, peekThreadReactor, wait
):
    """A revision added since the last start is run although the batch read came first."""
    writer = makePlugin("alpha")
    storage, loaderExtension, ctx = startStorage(dbUrl, tmp_path, peekThreadReactor, wait)
    loadPass(storage, loaderExtension, [writer.loaded()], wait)
    wait(storage.stopAfterPlugins(ctx))

    writer.addRevision("r2", "r1", R2_UPGRADE)
    storage, loaderExtension, ctx = startStorage(dbUrl, tmp_path, peekThreadReactor, wait)
    plugin = writer.loaded()
    loadPass(storage, loaderExtension, [plugin], wait)
    assert storage.migrations == ["peek_platform", "pl_alpha"]
    assert runLog(plugin, peekThreadReactor, wait) == ["r1", "r2"]
    wait(storage.stopAfterPlugins(ctx))


def test_databaseAheadIsStillRefusedAfterTheBatchRead(
    dbUrl, tmp_path, makePlugin, peekThreadReactor, wait
):
    """A database at a revision the plugin lacks fails the plugin, naming the revision."""
    writer = makePlugin("alpha")
    storage, loaderExtension, ctx = startStorage(dbUrl, tmp_path, peekThreadReactor, wait)
    plugin = writer.loaded()
    loadPass(storage, loaderExtension, [plugin], wait)
    db = plugin.platform.pluginStorage

    def setAhead() -> None:
        with db.dbEngine.begin() as conn:
            conn.execute(sa.text("UPDATE pl_alpha.alembic_version SET version_num = 'r9'"))

    inThread(peekThreadReactor, wait, setAhead)
    wait(storage.stopAfterPlugins(ctx))

    storage, loaderExtension, ctx = startStorage(dbUrl, tmp_path, peekThreadReactor, wait)
    plugin = writer.loaded()
    wait(storage.beforeLoadAll([plugin]))
    with pytest.raises(PluginStorageError, match=r"pl_alpha.*r9"):
        wait(loaderExtension.beforeLoad(plugin))
    wait(storage.stopAfterPlugins(ctx))


def test_aPluginLoadedAfterStartIsCheckedAfresh(
    dbUrl, tmp_path, makePlugin, peekThreadReactor, wait
):
    """What the batch read found is forgotten once the plugins started: a plugin enabled
    later takes the full check (here: the revision added meanwhile runs)."""
    writer = makePlugin("alpha")
    storage, loaderExtension, ctx = startStorage(dbUrl, tmp_path, peekThreadReactor, wait)
    loadPass(storage, loaderExtension, [writer.loaded()], wait)
    wait(storage.stopAfterPlugins(ctx))

    storage, loaderExtension, ctx = startStorage(dbUrl, tmp_path, peekThreadReactor, wait)
    wait(storage.beforeLoadAll([writer.loaded()]))
    storage.startAfterPlugins(ctx)
    writer.addRevision("r2", "r1", R2_UPGRADE)
    wait(loaderExtension.beforeLoad(writer.loaded()))
    assert storage.migrations == ["peek_platform", "pl_alpha"]
    wait(storage.stopAfterPlugins(ctx))


def test_manyPluginStoragesShareBoundedPostgresqlConnections(
    peekPostgresUrl, tmp_path, makePlugin, peekThreadReactor, wait
):
    """120 plugin storages on PostgreSQL, each migrated and used by a session, hold at most
    the one shared pool's connections on the server (pg_stat_activity), not one each."""
    storage, loaderExtension, ctx = startStorage(peekPostgresUrl, tmp_path, peekThreadReactor, wait)
    plugins = [makePlugin(f"many{i:03d}").loaded() for i in range(MANY_PLUGINS)]
    for plugin in plugins:  # a first start: each plugin migrated on its own
        wait(loaderExtension.beforeLoad(plugin))
    database = sa.make_url(peekPostgresUrl).database

    def useEverySessionThenCount() -> int:
        for plugin in plugins:
            with plugin.entryHook.dbSession as session:
                session.execute(
                    sa.text(f"SELECT count(*) FROM {plugin.entryHook.dbMetadata.schema}.item")
                )
        with storage.platformDb.dbEngine.connect() as conn:
            return conn.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :db"),
                {"db": database},
            ).scalar_one()

    connections = inThread(peekThreadReactor, wait, useEverySessionThenCount)
    assert 1 <= connections <= MAX_SERVER_CONNECTIONS
    wait(storage.stopAfterPlugins(ctx))
