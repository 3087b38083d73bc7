"""Mixin for logic plugins that own database tables (see docs/plugins/storage.rst)."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from peek_plugin_base.storage.DbConnection import DbConnection


class PluginLogicStorageEntryHookABC(metaclass=ABCMeta):
    """A logic plugin with storage declares its metadata; the platform migrates its schema.

    The platform attaches the plugin's database connection to its platform hook
    (``self.platform.pluginStorage``) before ``load()``; the properties below then give the
    plugin its engine and sessions.
    """

    @property
    @abstractmethod
    def dbMetadata(self) -> Any:
        """The plugin's SQLAlchemy ``MetaData``; its schema must be the plugin's schema."""

    def _connection(self) -> DbConnection:
        """The connection the platform attached; a clear error before it has."""
        platform = getattr(self, "platform", None)
        db: DbConnection | None = getattr(platform, "pluginStorage", None)
        if db is None:
            name = getattr(self, "name", type(self).__name__)
            raise RuntimeError(
                f"plugin {name}: storage is not connected; the logic service connects and "
                "migrates a plugin's storage before calling load()"
            )
        return db

    @property
    def dbEngine(self) -> Any:
        """The SQLAlchemy engine of the plugin's database connection."""
        return self._connection().dbEngine

    @property
    def dbSessionCreator(self) -> Any:
        """A callable returning new ORM sessions (use them off the reactor thread)."""
        return self._connection().ormSessionCreator

    @property
    def dbSession(self) -> Any:
        """A new ORM session (use it off the reactor thread)."""
        return self._connection().ormSessionCreator()

    def prefetchDeclarativeIds(self, Declarative: Any, count: int) -> Any:
        """Reserve ``count`` ids of ``Declarative``'s table; Deferred of an iterator of ints."""
        return self._connection().prefetchDeclarativeIds(Declarative, count)
