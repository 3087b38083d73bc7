"""Handlers behind the noop plugin's admin page (``_private/admin-app``)."""

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.orm import Session

from peek_plugin_base.settings.PluginSettingsABC import PluginSettingsABC
from peek_plugin_noop._private.logic.admin_backend.NoopItemTableHandler import (
    makeNoopItemTableHandler,
)
from peek_plugin_noop._private.logic.admin_backend.SettingsResource import SettingsResource
from vortex.handler.TupleDataObservableHandler import TupleDataObservableHandler


def makeAdminBackendHandlers(
    tupleObservable: TupleDataObservableHandler,
    dbSessionCreator: Callable[[], Session],
    onItemsChangedInThread: Callable[[], object] | None = None,
) -> Iterator[Any]:
    """Create the admin page's vortex handlers (each has ``shutdown()``);
    ``onItemsChangedInThread`` is called from the database thread after the editor saves."""
    yield makeNoopItemTableHandler(tupleObservable, dbSessionCreator, onItemsChangedInThread)


def makeSettingsResource(pluginSettings: PluginSettingsABC) -> SettingsResource:
    """The admin page's settings API, served at ``/peek_plugin_noop/api/settings``."""
    return SettingsResource(pluginSettings)
