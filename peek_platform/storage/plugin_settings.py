"""Plugin settings stored in ``peek_platform.plugin_setting`` (JSON values, default if absent)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from twisted.internet import threads
from twisted.internet.defer import Deferred

from peek_platform.storage.platform_schema import pluginSettingTable
from peek_plugin_base.settings.PluginSetting import PluginSetting, PluginSettingError
from peek_plugin_base.settings.PluginSettingsABC import PluginSettingsABC
from peek_plugin_base.storage.DbConnection import DbConnection


@dataclass(frozen=True)
class PluginSettingValue:
    """A declared setting with its current value, as the admin site lists it."""

    setting: PluginSetting
    value: Any
    isDefault: bool


class PluginSettingsStore:
    """Reads and writes plugin settings through the platform schema's connection (blocking).

    Values read are remembered: logic is the only process that writes settings, always
    through this store, and a write forgets the value it replaces, so a read after a write
    sees it. This spares a query per use, such as a plugin reading a setting per action. A
    read that raced a write is not remembered (``_writes`` moved on meanwhile).
    """

    def __init__(self, platformDb: DbConnection) -> None:
        self._db = platformDb
        self._lock = threading.Lock()
        self._known: dict[tuple[str, str], PluginSettingValue] = {}
        #: How many writes have finished, so a read can tell that one finished meanwhile.
        self._writes = 0

    def read(self, setting: PluginSetting) -> PluginSettingValue:
        """The current value of ``setting`` (its default when none is stored)."""
        self._db.checkNotReactorThread("plugin setting read")
        key = (setting.pluginName, setting.name)
        with self._lock:
            known = self._known.get(key)
            writes = self._writes
        if known is not None and known.setting == setting:
            return known
        value = self._readStored(setting)
        with self._lock:
            if self._writes == writes:
                self._known[key] = value
        return value

    def _readStored(self, setting: PluginSetting) -> PluginSettingValue:
        table = pluginSettingTable
        with self._db.dbEngine.connect() as conn:
            stored = conn.execute(
                select(table.c.value_json).where(
                    table.c.plugin_name == setting.pluginName, table.c.name == setting.name
                )
            ).scalar_one_or_none()
        if stored is None:
            return PluginSettingValue(setting, setting.default, True)
        try:
            value = setting.coerce(json.loads(stored))
        except (ValueError, PluginSettingError) as e:
            raise PluginSettingError(
                f"plugin {setting.pluginName}: stored value {stored!r} of setting "
                f"{setting.name!r} does not fit its type {setting.type} ({e}); write a new value"
            ) from e
        return PluginSettingValue(setting, value, False)

    def write(self, setting: PluginSetting, value: Any) -> None:
        """Store ``value`` for ``setting`` after checking its type."""
        self._db.checkNotReactorThread("plugin setting write")
        encoded = json.dumps(setting.coerce(value))
        table = pluginSettingTable
        with self._db.dbEngine.begin() as conn:
            conn.execute(
                delete(table).where(
                    table.c.plugin_name == setting.pluginName, table.c.name == setting.name
                )
            )
            conn.execute(
                insert(table).values(
                    plugin_name=setting.pluginName, name=setting.name, value_json=encoded
                )
            )
        with self._lock:
            self._writes += 1
            self._known.pop((setting.pluginName, setting.name), None)

    def readAll(self, settings: Iterable[PluginSetting]) -> list[PluginSettingValue]:
        """Current values of ``settings``, in the given order."""
        return [self.read(setting) for setting in settings]


class PluginSettings(PluginSettingsABC):
    """One plugin's settings: Deferred methods run the database work in the reactor's pool."""

    def __init__(
        self, declarations: tuple[PluginSetting, ...], store: PluginSettingsStore, reactor: Any
    ) -> None:
        self._declarations = declarations
        self._store = store
        self._reactor = reactor

    @property
    def declarations(self) -> tuple[PluginSetting, ...]:
        """The settings declared in plugin_package.json."""
        return self._declarations

    def _setting(self, name: str) -> PluginSetting:
        for setting in self._declarations:
            if setting.name == name:
                return setting
        pluginName = self._declarations[0].pluginName if self._declarations else "?"
        declared = ", ".join(s.name for s in self._declarations) or "none"
        raise PluginSettingError(
            f"plugin {pluginName}: no setting {name!r} is declared (declared: {declared}); "
            'add it to "settings" in plugin_package.json'
        )

    def _inThread(self, fn: Any, *args: Any) -> Deferred[Any]:
        return threads.deferToThreadPool(self._reactor, self._reactor.getThreadPool(), fn, *args)

    def get(self, name: str) -> Deferred[Any]:
        """Deferred of the current value of ``name``."""
        return self._inThread(self.getBlocking, name)

    def set(self, name: str, value: Any) -> Deferred[None]:
        """Store ``value`` for ``name``."""
        return self._inThread(self.setBlocking, name, value)

    def getBlocking(self, name: str) -> Any:
        """Current value of ``name`` (threads only)."""
        return self._store.read(self._setting(name)).value

    def setBlocking(self, name: str, value: Any) -> None:
        """Store ``value`` for ``name`` (threads only)."""
        self._store.write(self._setting(name), value)
