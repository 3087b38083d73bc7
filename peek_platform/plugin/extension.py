"""Seam for service capabilities that act around a plugin's load and unload."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from twisted.internet.defer import Deferred

if TYPE_CHECKING:
    from peek_platform.plugin.loader import LoadedPlugin


class LoaderExtension(Protocol):
    """Runs service-specific work per plugin (e.g. storage migration on logic).

    ``beforeLoad`` runs after the entry hook is constructed and before ``load()``; if it
    fails, only that plugin fails. ``afterUnload`` runs after the plugin's ``unload()``
    (also when the plugin failed after ``beforeLoad`` succeeded), to undo ``beforeLoad``.
    Both may return ``None``, a Deferred or a coroutine. They are platform code, so no
    deadline applies to them (a migration may legitimately take long).

    An extension may also define ``beforeLoadAll(plugins)``, called once by ``loadAll``
    with the plugins about to load (metadata read, entry hooks not built yet), before the
    first ``beforeLoad``: it may do in one go what would otherwise cost a round trip per
    plugin (storage reads every schema version at once). If it fails, the failure is
    logged and every plugin's ``beforeLoad`` still runs, so it must only be a shortcut.
    """

    def beforeLoad(self, plugin: LoadedPlugin) -> Deferred[None] | None:
        """Prepare ``plugin`` before its ``load()``; raise or errback to fail it."""

    def afterUnload(self, plugin: LoadedPlugin) -> Deferred[None] | None:
        """Release what ``beforeLoad`` set up for ``plugin``."""
