"""Entry hook of the noop plugin on the logic service (storage, admin site, hub)."""

import logging
from typing import Any

from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC
from peek_plugin_base.logic.PluginLogicStorageEntryHookABC import PluginLogicStorageEntryHookABC
from peek_plugin_noop._private.logic import ADMIN_APP_DIR
from peek_plugin_noop._private.logic.admin_backend import (
    makeAdminBackendHandlers,
    makeSettingsResource,
)
from peek_plugin_noop._private.logic.agent_handlers.RpcForAgent import RpcForAgent
from peek_plugin_noop._private.logic.controller.MainController import MainController
from peek_plugin_noop._private.logic.LogicToAgentRpcCallExample import (
    LogicToAgentRpcCallExample,
)
from peek_plugin_noop._private.logic.NoopApi import NoopApi
from peek_plugin_noop._private.logic.NoopItemBulkIndex import NoopItemBulkIndex
from peek_plugin_noop._private.logic.TupleActionProcessor import makeTupleActionProcessorHandler
from peek_plugin_noop._private.logic.TupleDataObservable import makeTupleDataObservableHandler
from peek_plugin_noop._private.logic.WorkerBatchExample import WorkerBatchExample
from peek_plugin_noop._private.storage import DeclarativeBase
from peek_plugin_noop._private.storage.DeclarativeBase import loadStorageTuples
from peek_plugin_noop._private.tuples import loadPrivateTuples
from peek_plugin_noop.tuples import loadPublicTuples

logger = logging.getLogger(__name__)


class LogicEntryHook(PluginLogicEntryHookABC, PluginLogicStorageEntryHookABC):
    """Runs the noop plugin on the logic service: ``load → start → stop → unload``.

    Whatever ``load`` and ``start`` create, ``stop`` and ``unload`` must release again.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Objects created by start() (handlers, controllers, observables); each has a
        #: ``shutdown()`` method, which stop() calls, newest first.
        self._loadedObjects: list[Any] = []
        #: The API other plugins on logic get (see ``publishedLogicApi``), while started.
        self._api: NoopApi | None = None

    @property
    def dbMetadata(self) -> Any:
        """The tables of this plugin; the platform migrates their schema before load()."""
        return DeclarativeBase.metadata

    @property
    def publishedLogicApi(self) -> NoopApi | None:
        """What ``platform.getOtherPluginApi("peek_plugin_noop")`` gives other plugins."""
        return self._api

    def load(self) -> None:
        """Prepare the plugin; on logic this runs just after the plugin's storage is migrated."""
        loadStorageTuples()
        loadPrivateTuples()
        loadPublicTuples()
        # The admin page, and its settings API at /peek_plugin_noop/api/settings.
        self.platform.addAdminStaticResourceDir(str(ADMIN_APP_DIR))
        self.platform.addAdminResource(b"api/settings", makeSettingsResource(self.pluginSettings))
        logger.info("Loaded")

    async def start(self) -> None:
        """Start the plugin: create its handlers and add each to ``self._loadedObjects``."""
        # Settings are declared in plugin_package.json; an admin changes them on the admin
        # site. Reading one is a database query, so it returns a Deferred.
        greeting = await self.pluginSettings.get("greeting")
        logger.info("Setting greeting is %r", greeting)

        tupleObservable = makeTupleDataObservableHandler(self.dbSessionCreator)
        self._loadedObjects.append(tupleObservable)

        mainController = MainController(self.dbSessionCreator, tupleObservable, self.pluginSettings)
        self._loadedObjects.append(mainController)

        # The items as a chunked index devices keep (bulk data sync), republished on change.
        bulkIndex = NoopItemBulkIndex(self.platform, self.dbSessionCreator).start()
        self._loadedObjects.append(bulkIndex)
        mainController.addItemsChangedListener(bulkIndex.publish)

        self._loadedObjects.append(makeTupleActionProcessorHandler(mainController))
        self._loadedObjects.extend(
            makeAdminBackendHandlers(
                tupleObservable, self.dbSessionCreator, bulkIndex.publishFromThread
            )
        )

        # RPCs both ways with the agent, and tasks for the worker.
        self._loadedObjects.extend(RpcForAgent().makeHandlers())
        self._loadedObjects.append(LogicToAgentRpcCallExample(greeting).start())
        self._loadedObjects.append(WorkerBatchExample(self.platform, mainController).start())

        # The API object shared with other plugins on this service.
        self._api = NoopApi(mainController)
        self._loadedObjects.append(self._api)
        logger.info("Started")

    def stop(self) -> None:
        """Shut down everything start() created, in reverse order of creation."""
        self._api = None
        while self._loadedObjects:
            self._loadedObjects.pop().shutdown()
        logger.info("Stopped")

    def unload(self) -> None:
        """Release what load() acquired, before the platform unlinks the plugin."""
        logger.info("Unloaded")
