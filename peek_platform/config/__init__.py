"""Service configuration: the ``config.json`` key table, loader and atomic writer."""

from peek_platform.config.dotted import nestDotted, setDotted
from peek_platform.config.errors import ConfigError
from peek_platform.config.keys import CONFIG_KEYS, ConfigKey, keysForService
from peek_platform.config.service_config import (
    CONFIG_FILE_NAME,
    ConfigLookup,
    ServiceConfig,
    loadServiceConfig,
    writeConfigFile,
)

__all__ = [
    "CONFIG_FILE_NAME",
    "CONFIG_KEYS",
    "ConfigError",
    "ConfigKey",
    "ConfigLookup",
    "ServiceConfig",
    "keysForService",
    "loadServiceConfig",
    "nestDotted",
    "setDotted",
    "writeConfigFile",
]
