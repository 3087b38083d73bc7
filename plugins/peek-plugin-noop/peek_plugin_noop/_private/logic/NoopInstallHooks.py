"""The noop plugin's install hooks: seed the first items once, when the plugin is installed.

Declared in plugin_package.json (``"logic": {"installHooks": ...}``). The logic service runs
``install`` once per installation, after migrating ``pl_noop`` and before ``load()``, in
one transaction with its record of the installed version (docs/plugins/install-hooks.rst).
"""

import logging
from collections.abc import Mapping

from peek_plugin_base.logic.PluginLogicInstallHooksABC import (
    PluginInstallContext,
    PluginLogicInstallHooksABC,
    UpgradeStep,
)
from peek_plugin_noop._private.storage.NoopItem import NoopItemTuple

logger = logging.getLogger(__name__)

#: The items a fresh install starts with, so the pages have something to show.
SEED_ITEMS = (("Apples", 3), ("Pears", 5))


class NoopInstallHooks(PluginLogicInstallHooksABC):
    """Seeds ``SEED_ITEMS`` on install; deletes every item on uninstall."""

    def install(self, context: PluginInstallContext) -> None:
        """Add the seed items, unless the table has items (a plugin installed before the
        platform recorded installs)."""
        session = context.session
        if session.query(NoopItemTuple).first() is not None:
            return
        session.add_all(NoopItemTuple(name=name, value=value) for name, value in SEED_ITEMS)
        logger.info("Seeded %d items into the empty NoopItem table", len(SEED_ITEMS))

    def upgradeSteps(self) -> Mapping[str, UpgradeStep]:
        """No data conversion yet; a release that needs one adds ``{"0.2.0": self.to020}``."""
        return {}

    def uninstall(self, context: PluginInstallContext) -> None:
        """Delete every item (the tables stay; ``peek db downgrade`` drops them)."""
        context.session.query(NoopItemTuple).delete()
