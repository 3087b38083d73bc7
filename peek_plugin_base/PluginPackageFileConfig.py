"""Access to a plugin's ``plugin_package.json`` through json-cfg."""

from __future__ import annotations

import os
from typing import Any

import jsoncfg

PLUGIN_PACKAGE_FILE = "plugin_package.json"


class PluginPackageFileConfig:
    """Loads ``plugin_package.json`` from ``pluginRootDir`` (json-cfg, comments allowed)."""

    def __init__(self, pluginRootDir: str) -> None:
        self._path = os.path.join(pluginRootDir, PLUGIN_PACKAGE_FILE)
        self._config = jsoncfg.load_config(self._path)

    @property
    def path(self) -> str:
        """Absolute path of the plugin_package.json file."""
        return self._path

    @property
    def config(self) -> Any:
        """The json-cfg config object, for reading (``cfg.plugin.title()``) and saving."""
        return self._config
