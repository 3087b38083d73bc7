"""Load, validate and complete a service's ``config.json`` (docs/dev/config.rst)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Protocol

import jsoncfg

from peek_platform.config.config_file import (
    CONFIG_FILE_NAME,
    hasComments,
    parseConfigText,
    readConfigText,
    writeConfigFile,
)
from peek_platform.config.dotted import setDotted
from peek_platform.config.errors import ConfigError
from peek_platform.config.keys import (
    ConfigKey,
    InvalidValue,
    configKeyByPath,
    describeValue,
    keysForService,
)
from peek_platform.services import ServiceSpec

__all__ = [
    "CONFIG_FILE_NAME",
    "ConfigLookup",
    "ServiceConfig",
    "loadServiceConfig",
    "writeConfigFile",
]


class ConfigLookup(Protocol):
    """Config values by dotted key (``config["dataExchange.port"]``), ``KeyError`` if absent.

    What readers of a few keys need: a :class:`ServiceConfig`, or a plain ``dict`` in tests.
    """

    def __getitem__(self, dottedKey: str, /) -> Any:
        """The value of ``dottedKey``."""


class ServiceConfig:
    """The validated settings of one service, with defaults applied to missing keys."""

    def __init__(
        self,
        spec: ServiceSpec,
        home: Path,
        values: dict[str, Any],
        document: dict,
        unwrittenKeys: list[str],
    ) -> None:
        self.spec = spec
        self.home = Path(home)
        self.path = self.home / CONFIG_FILE_NAME
        #: Dotted keys whose defaults are in memory only: missing from the file and not
        #: written back (``writeBack=False``, or the file has comments that a rewrite
        #: would destroy). A service logs these as a WARNING.
        self.unwrittenKeys = list(unwrittenKeys)
        self._values = values
        self._document = document

    def __getitem__(self, dottedKey: str) -> Any:
        """Return the typed value of ``dottedKey``; ``KeyError`` if the service has no such key."""
        try:
            value = self._values[dottedKey]
        except KeyError:
            raise KeyError(self._unknownKeyMessage(dottedKey)) from None
        return copy.deepcopy(value)

    def asDict(self) -> dict:
        """The whole document as nested dicts: typed values, defaults, and unknown keys as read."""
        result = copy.deepcopy(self._document)
        for dottedKey, value in self._values.items():
            setDotted(result, dottedKey, copy.deepcopy(value))
        return result

    def _unknownKeyMessage(self, dottedKey: str) -> str:
        """Explain why ``dottedKey`` is not available to this service."""
        try:
            configKeyByPath(dottedKey)
        except KeyError:
            known = ", ".join(self._values)
            return f"unknown config key {dottedKey!r}; known keys: {known}"
        return f"config key {dottedKey!r} does not apply to the {self.spec.key} service"


def loadServiceConfig(spec: ServiceSpec, home: Path, *, writeBack: bool = True) -> ServiceConfig:
    """Read, validate and complete ``<home>/config.json`` for the service ``spec``.

    Missing keys get their defaults. With ``writeBack`` (the default) a missing home and
    file are created and missing keys are written to the file atomically, so a fresh
    service documents its own settings; unknown keys are kept as they are. The file is
    not rewritten when it contains comments (the rewrite would drop them): the defaults
    then stay in memory and their keys are listed in ``ServiceConfig.unwrittenKeys`` for
    the caller to log as a WARNING. ``writeBack=False`` (``peek config check``) never
    touches the disk and lists every missing key in ``unwrittenKeys``.

    Raises ``ConfigError`` (file unchanged) when the file cannot be read or parsed, when a
    value has the wrong type or is out of range, or when writing it back fails.
    """
    home = Path(home)
    path = home / CONFIG_FILE_NAME
    root = None
    commented = False
    if path.exists():
        text = readConfigText(path)
        root = parseConfigText(path, text)
        commented = hasComments(text)

    document: dict = root() if root is not None else {}
    values: dict[str, Any] = {}
    missing: list[ConfigKey] = []
    for key in keysForService(spec):
        node = _findNode(path, root, key.path)
        if node is None:
            missing.append(key)
            values[key.path] = key.check(key.default)
        else:
            values[key.path] = _checkNode(path, key, node)

    unwritten: list[str] = []
    if missing:
        complete = copy.deepcopy(document)
        for key in missing:
            setDotted(complete, key.path, copy.deepcopy(key.default))
        if writeBack and not commented:
            try:
                writeConfigFile(path, complete)
            except OSError as e:
                message = f"cannot write the missing defaults back: {e.strerror or e}"
                raise ConfigError(path, message) from e
        else:
            unwritten = [key.path for key in missing]
        document = complete
    return ServiceConfig(spec, home, values, document, unwritten)


def _findNode(path: Path, root: Any, dottedKey: str) -> Any:
    """Return the json-cfg node at ``dottedKey``, or ``None`` if it (or a parent) is missing."""
    node = root
    walked: list[str] = []
    for part in dottedKey.split("."):
        if node is None:
            return None
        if not jsoncfg.node_is_object(node):
            where = ".".join(walked)
            line, col = jsoncfg.node_location(node)
            value = describeValue(node())
            raise ConfigError(path, f"{where}: expected an object, got {value}", line, col)
        walked.append(part)
        node = node[part] if part in node else None
    return node


def _checkNode(path: Path, key: ConfigKey, node: Any) -> Any:
    """Return the typed value of ``node`` for ``key``; ``ConfigError`` at its location if wrong."""
    try:
        return key.check(node())
    except InvalidValue as e:
        if e.index is not None and jsoncfg.node_is_array(node):
            node = node[e.index]
        line, col = jsoncfg.node_location(node)
        raise ConfigError(path, f"{key.path}: {e}", line, col) from e
