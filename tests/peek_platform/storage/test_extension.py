"""StorageServiceExtension: migrations before load, failures per plugin, settings."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa
from twisted.internet import threads

from peek_platform.process.context import ServiceContext
from peek_platform.services import LOGIC, WORKER
from peek_platform.storage.db_config import resolveConnectUrl
from peek_platform.storage.extension import StorageServiceExtension
from peek_platform.storage.plugin_storage import PluginStorageError
from peek_plugin_base.settings.PluginSetting import PluginSettingError

BROKEN_UPGRADE = """
op.create_table("extra", sa.Column("id", sa.Integer, primary_key=True), schema="{schema}")
op.execute("INSERT INTO {schema}.no_such_table VALUES (1)")
"""

SETTINGS = [
    {"name": "batchSize", "type": "int", "default": 10, "description": "Rows per batch."},
    {"name": "enabled", "type": "bool", "default": True, "description": "Do the work."},
]


def startStorage(dbUrl, home, reactor, wait) -> tuple:
    """Start a storage extension on ``dbUrl``; return it, its loader extension and context."""
    config = {"sqlalchemy.connectUrl": dbUrl, "sqlalchemy.engineArgs": {}}
    ctx = ServiceContext(spec=LOGIC, home=home, config=config, reactor=reactor)
    storage = StorageServiceExtension()
    storage.configure(ctx)
    [loaderExtension] = storage.loaderExtensions(ctx)
    wait(storage.startBeforePlugins(ctx))
    return storage, loaderExtension, ctx


def inThread(reactor, wait, fn):
    return wait(threads.deferToThreadPool(reactor, reactor.getThreadPool(), fn))


def test_beforeLoadMigratesAndAttaches(dbUrl, tmp_path, makePlugin, peekThreadReactor, wait):
    """beforeLoad migrates the plugin to head and gives the hook a working session."""
    storage, loaderExtension, ctx = startStorage(dbUrl, tmp_path, peekThreadReactor, wait)
    plugin = makePlugin("alpha").loaded()
    wait(loaderExtension.beforeLoad(plugin))
    hook = plugin.entryHook

    def query():
        with hook.dbSession as session:
            return session.execute(sa.text("SELECT revision FROM pl_alpha.run_log")).all()

    assert inThread(peekThreadReactor, wait, query) == [("r1",)]
    wait(loaderExtension.afterUnload(plugin))
    assert hook.platform.pluginStorage is None
    wait(storage.stopAfterPlugins(ctx))


def test_schemaMismatchFailsWithNames(dbUrl, tmp_path, makePlugin, peekThreadReactor, wait):
    """A dbMetadata schema other than pl_<name> fails naming the plugin and both schemas."""
    _, loaderExtension, _ = startStorage(dbUrl, tmp_path, peekThreadReactor, wait)
    plugin = makePlugin("alpha").loaded(schema="alpha")
    with pytest.raises(PluginStorageError) as info:
        wait(loaderExtension.beforeLoad(plugin))
    message = str(info.value)
    assert "peek_plugin_alpha" in message
    assert "'pl_alpha'" in message
    assert "'alpha'" in message


def test_storageWithoutStorageHookFails(dbUrl, tmp_path, makePlugin, peekThreadReactor, wait):
    """A plugin declaring storage whose hook lacks the storage ABC fails with that reason."""
    _, loaderExtension, _ = startStorage(dbUrl, tmp_path, peekThreadReactor, wait)
    plugin = makePlugin("alpha").loaded(storageHook=False)
    with pytest.raises(PluginStorageError, match="PluginLogicStorageEntryHookABC"):
        wait(loaderExtension.beforeLoad(plugin))


def test_brokenMigrationFailsOnlyThatPlugin(dbUrl, tmp_path, makePlugin, peekThreadReactor, wait):
    """A plugin whose second revision fails is rolled back at r1; another plugin migrates."""
    _, loaderExtension, _ = startStorage(dbUrl, tmp_path, peekThreadReactor, wait)
    broken = makePlugin("broken")
    wait(loaderExtension.beforeLoad(broken.loaded()))
    broken.addRevision("r2", "r1", BROKEN_UPGRADE)
    plugin = broken.loaded()
    with pytest.raises(PluginStorageError, match="no_such_table") as info:
        wait(loaderExtension.beforeLoad(plugin))
    assert "peek_plugin_broken" in str(info.value)
    assert plugin.platform.pluginStorage is None

    good = makePlugin("good").loaded()
    wait(loaderExtension.beforeLoad(good))
    assert good.platform.pluginStorage.currentRevisions() == ("r1",)

    from peek_plugin_base.storage.DbConnection import DbConnection

    check = DbConnection(dbUrl, broken.metadata(), str(broken.alembicDir), enableCreateAll=False)
    assert check.currentRevisions() == ("r1",)
    assert set(sa.inspect(check.dbEngine).get_table_names(schema="pl_broken")) == {
        "item",
        "run_log",
        "alembic_version",
    }
    check.dispose()


def test_settingsDefaultWriteReadAfterReconnect(
    dbUrl, tmp_path, makePlugin, peekThreadReactor, wait
):
    """Declared settings start at their default, and a written value survives a reconnect."""
    writer = makePlugin("alpha", SETTINGS)
    storage, loaderExtension, ctx = startStorage(dbUrl, tmp_path, peekThreadReactor, wait)
    plugin = writer.loaded()
    wait(loaderExtension.beforeLoad(plugin))
    settings = plugin.entryHook.pluginSettings
    assert wait(settings.get("batchSize")) == 10
    wait(settings.set("batchSize", 25))
    with pytest.raises(PluginSettingError, match="batchSize"):
        wait(settings.set("batchSize", "many"))
    wait(loaderExtension.afterUnload(plugin))
    wait(storage.stopAfterPlugins(ctx))

    storage, loaderExtension, ctx = startStorage(dbUrl, tmp_path, peekThreadReactor, wait)
    plugin = writer.loaded()
    wait(loaderExtension.beforeLoad(plugin))
    assert wait(plugin.entryHook.pluginSettings.get("batchSize")) == 25
    listed = wait(storage.listPluginSettings())
    assert [(v.setting.name, v.value, v.isDefault) for v in listed] == [
        ("batchSize", 25, False),
        ("enabled", True, True),
    ]
    wait(storage.stopAfterPlugins(ctx))


def test_undeclaredSettingRefused(dbUrl, tmp_path, makePlugin, peekThreadReactor, wait):
    """Reading a setting the plugin did not declare names the declared ones."""
    _, loaderExtension, _ = startStorage(dbUrl, tmp_path, peekThreadReactor, wait)
    plugin = makePlugin("alpha", SETTINGS).loaded()
    wait(loaderExtension.beforeLoad(plugin))
    with pytest.raises(PluginSettingError, match="batchSize, enabled"):
        wait(plugin.entryHook.pluginSettings.get("colour"))


MIGRATE_SCRIPT = textwrap.dedent(
    """
    import sys
    import sqlalchemy as sa
    from peek_plugin_base.storage.DbConnection import DbConnection

    db = DbConnection(sys.argv[1], sa.MetaData(schema="pl_slow"), sys.argv[2],
                      enableCreateAll=False)
    db.migrate()
    print(",".join(db.currentRevisions()))
    """
)


def test_twoProcessesMigrateOnce(dbUrl, makePlugin):
    """Two processes started together run each revision once; both end at head."""
    writer = makePlugin("slow")
    writer.addRevision(
        "r2",
        "r1",
        "import time\ntime.sleep(1)\n"
        "op.execute(\"INSERT INTO {schema}.run_log (revision) VALUES ('r2')\")",
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE_SCRIPT, dbUrl, str(writer.alembicDir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert [out.strip() for out, _ in outputs] == ["r2", "r2"]
    from peek_plugin_base.storage.DbConnection import DbConnection

    check = DbConnection(dbUrl, writer.metadata(), str(writer.alembicDir))
    with check.dbEngine.connect() as conn:
        runs = conn.execute(sa.text("SELECT revision FROM pl_slow.run_log ORDER BY id")).all()
    assert runs == [("r1",), ("r2",)]
    check.dispose()


def test_defaultUrlIsSqliteInLogicHome(tmp_path):
    """An empty connectUrl means peek.sqlite in the logic home (the worker uses its sibling)."""
    logicHome = tmp_path / LOGIC.homeDirName
    assert resolveConnectUrl("", LOGIC, logicHome) == f"sqlite:///{logicHome / 'peek.sqlite'}"
    workerHome = tmp_path / WORKER.homeDirName
    assert resolveConnectUrl("", WORKER, workerHome) == f"sqlite:///{logicHome / 'peek.sqlite'}"
    assert resolveConnectUrl("postgresql://x/y", LOGIC, logicHome) == "postgresql://x/y"


def test_platformSchemaMigratedAtStart(dbUrl, tmp_path, peekThreadReactor, wait):
    """startBeforePlugins creates peek_platform.plugin_setting through its own migration."""
    storage, _, ctx = startStorage(dbUrl, tmp_path, peekThreadReactor, wait)
    from peek_plugin_base.storage.DbEngine import createDbEngine

    engine = createDbEngine(dbUrl, attachSchemas=["peek_platform"])
    assert "plugin_setting" in sa.inspect(engine).get_table_names(schema="peek_platform")
    engine.dispose()
    wait(storage.stopAfterPlugins(ctx))
