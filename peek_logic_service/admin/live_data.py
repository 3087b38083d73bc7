"""What the admin pages observe and change, served on logic's vortex to admin browsers.

One ``TupleDataObservableHandler`` named ``peek_logic_service.admin`` provides the platform
status (Overview, Plugins), plugin settings (Settings), logic's config (Config) and the
tail of logic's log file (Logs); each is pushed again when it changes. One
``TupleActionProcessor`` of the same name saves plugin settings, and accepts actions only
from admin browsers (the admin site's ``/vortexws`` requires a logged-in session).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from twisted.internet import defer, threads
from twisted.internet.defer import Deferred

from peek_logic_service.admin.config_view import configTuple
from peek_logic_service.admin.log_tail import TAIL_BYTES, TAIL_LINES, LogFileWatcher
from peek_logic_service.admin.tuples import (
    ADMIN_BROWSER_IDENTITY,
    ADMIN_FILT,
    ADMIN_OBSERVABLE_NAME,
    SET_PLUGIN_SETTING_ACTION,
    AdminConfigTuple,
    AdminLogTailTuple,
    AdminPluginSettingTuple,
)
from peek_platform.config import ServiceConfig
from peek_platform.log_files import readLogTail
from peek_platform.storage.plugin_settings import PluginSettingsStore, PluginSettingValue
from peek_platform.vortex.tuples import PlatformStatusTuple
from peek_plugin_base.settings.PluginSetting import PluginSettingError
from vortex.handler.TupleActionProcessor import (
    TupleActionProcessor,
    TupleActionProcessorDelegateABC,
)
from vortex.handler.TupleDataObservableHandler import TupleDataObservableHandler, TuplesProviderABC
from vortex.Payload import Payload
from vortex.TupleAction import TupleActionABC, TupleGenericAction
from vortex.TupleSelector import TupleSelector
from vortex.VortexFactory import VortexFactory

logger = logging.getLogger(__name__)


class StatusViewLike(Protocol):
    """What the admin pages need of ``PlatformStatusView``."""

    def subscribe(self, callback: Callable[[PlatformStatusTuple], None]) -> Callable[[], None]:
        """Call back after every change; returns the unsubscribe function."""

    def snapshot(self) -> PlatformStatusTuple:
        """The view now."""


class SettingsStorageLike(Protocol):
    """What the admin pages need of ``StorageServiceExtension``."""

    @property
    def settingsStore(self) -> PluginSettingsStore:
        """The store ``setPluginSetting`` writes to."""

    def listPluginSettings(self) -> Deferred[list[PluginSettingValue]]:
        """Every loaded plugin's declared settings with their current values."""

    def inThread(self, fn: Callable[..., Any], *args: Any) -> Deferred[Any]:
        """Run blocking ``fn`` in the thread pool."""


class _Provider(TuplesProviderABC):
    """A tuple provider from a function returning a list of tuples (or a Deferred of it)."""

    def __init__(self, produce: Callable[[], Any]) -> None:
        self._produce = produce

    def makeVortexMsg(self, filt: dict, tupleSelector: TupleSelector) -> Deferred[Payload]:
        """The produced tuples as the payload for ``filt``."""
        d = defer.maybeDeferred(self._produce)
        d.addCallback(lambda tuples: Payload(filt=filt, tuples=list(tuples)))
        return d


def settingTuple(
    value: PluginSettingValue, pluginTitle: Callable[[str], str]
) -> AdminPluginSettingTuple:
    """A ``PluginSettingValue`` as the Settings page's tuple."""
    setting = value.setting
    return AdminPluginSettingTuple(
        pluginName=setting.pluginName,
        pluginTitle=pluginTitle(setting.pluginName),
        name=setting.name,
        type=setting.type,
        default=setting.default,
        description=setting.description,
        value=value.value,
        isDefault=value.isDefault,
    )


class AdminLiveData:
    """The admin pages' observable and action processor on logic's vortex."""

    def __init__(
        self,
        factory: VortexFactory,
        *,
        statusView: StatusViewLike | None,
        storage: SettingsStorageLike | None,
        config: ServiceConfig,
        logPath: Path,
        pluginTitle: Callable[[str], str],
        clock: Any,
    ) -> None:
        self._statusView = statusView
        self._storage = storage
        self._config = config
        self._logPath = logPath
        self._pluginTitle = pluginTitle
        self._clock = clock
        self.observable = TupleDataObservableHandler(
            ADMIN_OBSERVABLE_NAME, ADMIN_FILT, vortexFactory=factory
        )
        self.processor = TupleActionProcessor(
            ADMIN_OBSERVABLE_NAME,
            ADMIN_FILT,
            acceptOnlyFromVortex=ADMIN_BROWSER_IDENTITY,
            vortexFactory=factory,
        )
        self.processor.setDelegate(TupleGenericAction, _SettingsDelegate(self))
        providers: dict[str, Callable[[], Any]] = {
            PlatformStatusTuple.tupleName(): self._status,
            AdminPluginSettingTuple.tupleName(): self._settings,
            AdminConfigTuple.tupleName(): lambda: [configTuple(self._config)],
            AdminLogTailTuple.tupleName(): self._logTail,
        }
        for tupleName, produce in providers.items():
            self.observable.addTupleProvider(tupleName, _Provider(produce))
        self._unsubscribeStatus: Callable[[], None] | None = None
        self._logWatcher = LogFileWatcher(
            logPath,
            lambda: self.observable.notifyOfTupleUpdateForTuple(AdminLogTailTuple.tupleName()),
            clock=clock,
        )

    def start(self) -> None:
        """Follow status changes and the log file."""
        if self._statusView is not None:
            self._unsubscribeStatus = self._statusView.subscribe(
                lambda snapshot: self.observable.notifyOfTupleUpdateForTuple(
                    PlatformStatusTuple.tupleName()
                )
            )
        self._logWatcher.start()

    def shutdown(self) -> None:
        """Stop serving the admin pages."""
        self._logWatcher.stop()
        if self._unsubscribeStatus is not None:
            self._unsubscribeStatus()
            self._unsubscribeStatus = None
        self.processor.shutdown()
        self.observable.shutdown()

    # ---- providers ----------------------------------------------------------------------

    def _status(self) -> list[PlatformStatusTuple]:
        if self._statusView is None:
            return []
        return [self._statusView.snapshot()]

    def _settings(
        self,
    ) -> list[AdminPluginSettingTuple] | Deferred[list[AdminPluginSettingTuple]]:
        if self._storage is None:
            return []
        d = self._storage.listPluginSettings()
        return d.addCallback(lambda values: [settingTuple(v, self._pluginTitle) for v in values])

    def _logTail(self) -> Deferred[list[AdminLogTailTuple]]:
        d = threads.deferToThreadPool(
            self._clock,
            self._clock.getThreadPool(),
            readLogTail,
            self._logPath,
            TAIL_LINES,
            TAIL_BYTES,
        )
        return d.addCallback(
            lambda lines: [
                AdminLogTailTuple(
                    serviceKey=self._config.spec.key, logPath=str(self._logPath), lines=lines
                )
            ]
        )

    # ---- actions ------------------------------------------------------------------------

    async def setPluginSetting(
        self, pluginName: Any, name: Any, value: Any
    ) -> AdminPluginSettingTuple:
        """Check ``value`` against the declared type, store it, and push the new settings."""
        if self._storage is None:
            raise PluginSettingError("plugin settings are not available: logic has no storage")
        values = await self._storage.listPluginSettings()
        current = next(
            (v for v in values if v.setting.pluginName == pluginName and v.setting.name == name),
            None,
        )
        if current is None:
            raise PluginSettingError(
                f"plugin {pluginName}: no setting {name!r} is declared by a loaded plugin"
            )
        setting = current.setting
        coerced = setting.coerce(value)
        await self._storage.inThread(self._storage.settingsStore.write, setting, coerced)
        logger.info("admin: plugin %s setting %s set to %r", pluginName, name, coerced)
        self.observable.notifyOfTupleUpdateForTuple(AdminPluginSettingTuple.tupleName())
        saved = type(current)(setting, coerced, False)
        return settingTuple(saved, self._pluginTitle)


class _SettingsDelegate(TupleActionProcessorDelegateABC):
    """Processes ``TupleGenericAction(key="setPluginSetting", data={pluginName, name, value})``."""

    def __init__(self, live: AdminLiveData) -> None:
        self._live = live

    def processTupleAction(self, tupleAction: TupleActionABC) -> Deferred[Any]:
        """Save the setting; the answer is its new ``AdminPluginSettingTuple``."""
        key = getattr(tupleAction, "key", None)
        data = getattr(tupleAction, "data", None)
        if key != SET_PLUGIN_SETTING_ACTION or not isinstance(data, dict):
            raise ValueError(
                f"admin: unknown action {key!r}; send key {SET_PLUGIN_SETTING_ACTION!r} with "
                "data {pluginName, name, value}"
            )
        return Deferred.fromCoroutine(
            self._live.setPluginSetting(data.get("pluginName"), data.get("name"), data.get("value"))
        )
