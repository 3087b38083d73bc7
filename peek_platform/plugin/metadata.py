"""Read and validate a plugin's ``plugin_package.json`` (docs/dev/loader.rst)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import jsoncfg
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from peek_platform.identity.permissions import Permission, pluginPermissionProblem
from peek_platform.plugin.errors import PluginValidationError
from peek_platform.services import KNOWN_REQUIRES_SERVICES, ServiceSpec
from peek_plugin_base import PLUGIN_CONTRACT_VERSION
from peek_plugin_base.PluginPackageFileConfig import PLUGIN_PACKAGE_FILE


@dataclass(frozen=True)
class PluginMetadata:
    """The validated contents of one ``plugin_package.json``."""

    name: str
    title: str
    version: str
    requiresServices: tuple[str, ...]
    requiresPlugins: tuple[str, ...]
    peekPlatformVersion: str | None
    #: Absolute path of the plugin_package.json file.
    path: Path
    #: The whole parsed document, for per-service sections (``storage``, ``logic``, ...).
    raw: dict
    #: The permissions the plugin declares (``"permissions"``), in file order.
    permissions: tuple[Permission, ...] = ()


def readPluginMetadata(
    pluginName: str, rootDir: Path, *, contractVersion: str = PLUGIN_CONTRACT_VERSION
) -> PluginMetadata:
    """Parse and validate ``rootDir/plugin_package.json``; raise ``PluginValidationError``.

    ``contractVersion`` is the platform's plugin contract version that a
    ``peekPlatformVersion`` range must contain.
    """
    path = Path(rootDir) / PLUGIN_PACKAGE_FILE
    document = _parse(pluginName, path)
    check = _Checker(pluginName, path, document)

    title = check.string("plugin", "title")
    packageName = check.string("plugin", "packageName")
    if packageName != pluginName:
        check.fail(
            f'"plugin.packageName" is {packageName!r} but the package is {pluginName!r}; '
            f"set it to {pluginName!r}"
        )
    version = check.string("plugin", "version")
    requiresServices = check.stringList("requiresServices", required=True)
    unknown = sorted(set(requiresServices) - KNOWN_REQUIRES_SERVICES)
    if unknown:
        known = ", ".join(sorted(KNOWN_REQUIRES_SERVICES))
        check.fail(f'"requiresServices" names unknown service(s) {unknown}; known: {known}')
    requiresPlugins = check.stringList("requiresPlugins", required=False)
    if pluginName in requiresPlugins:
        check.fail(f'"requiresPlugins" names the plugin itself ({pluginName!r}); remove it')
    platformRange = _platformRange(check, contractVersion)
    permissions = _permissions(check)

    return PluginMetadata(
        name=pluginName,
        title=title,
        version=version,
        requiresServices=tuple(requiresServices),
        requiresPlugins=tuple(requiresPlugins),
        peekPlatformVersion=platformRange,
        path=path,
        raw=document,
        permissions=permissions,
    )


def runsOnService(metadata: PluginMetadata, spec: ServiceSpec) -> bool:
    """True when the plugin's ``requiresServices`` names one of the service's keys."""
    return not spec.requiresServicesKeys.isdisjoint(metadata.requiresServices)


def _parse(pluginName: str, path: Path) -> dict:
    """Read the file with json-cfg (comments allowed) and return the top-level object."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PluginValidationError(
            pluginName,
            f"{path} not found; every plugin package needs a {PLUGIN_PACKAGE_FILE} "
            "beside its __init__.py",
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise PluginValidationError(pluginName, f"{path}: cannot be read as UTF-8: {e}") from e
    try:
        # Strict JSON is parsed ~100 times faster by the standard library; json-cfg parses
        # what it refuses (comments, duplicate keys) and gives the line and column.
        document: Any = json.loads(text, object_pairs_hook=_uniqueKeysObject)
    except ValueError:
        document = None
    try:
        if document is None:
            document = jsoncfg.loads(text)
    except jsoncfg.JSONConfigParserException as e:
        raise PluginValidationError(
            pluginName,
            f"{path}:{e.line}:{e.column}: invalid JSON: {e.error_message} Fix the file's syntax.",
        ) from None
    if not isinstance(document, Mapping):
        raise PluginValidationError(
            pluginName, f"{path}: the top level must be a JSON object, not {_typeName(document)}"
        )
    return _plain(document)


def _platformRange(check: _Checker, contractVersion: str) -> str | None:
    """Validate ``peekPlatformVersion`` and refuse a range that excludes the platform."""
    value = check.document.get("peekPlatformVersion")
    if value is None:
        return None
    if not isinstance(value, str):
        check.fail(
            f'"peekPlatformVersion" must be a version range string like ">=3,<4", '
            f"not {_typeName(value)}"
        )
    try:
        specifier = SpecifierSet(value)
    except InvalidSpecifier:
        check.fail(
            f'"peekPlatformVersion" {value!r} is not a PEP 440 version range; '
            'write it like ">=3.0,<4"'
        )
    if not specifier.contains(Version(contractVersion), prereleases=True):
        check.fail(
            f'"peekPlatformVersion" {value!r} excludes this platform\'s plugin contract '
            f"version {contractVersion}; install a plugin release made for contract "
            f"{contractVersion}"
        )
    return value


def _permissions(check: _Checker) -> tuple[Permission, ...]:
    """Validate ``permissions``: a list of ``{"name": ..., "description": ...}`` objects."""
    value = check.document.get("permissions")
    if value is None:
        return ()
    example = f'[{{"name": "{check.pluginName}.edit", "description": "Change items"}}]'
    if not isinstance(value, list):
        check.fail(
            f'"permissions" must be a list of objects like {example}, not {_typeName(value)}'
        )
    permissions: list[Permission] = []
    for index, entry in enumerate(value):
        where = f'"permissions[{index}]"'
        if not isinstance(entry, dict):
            check.fail(f"{where} must be an object like {example[1:-1]}, not {_typeName(entry)}")
        extra = sorted(set(entry) - {"name", "description"})
        if extra:
            check.fail(
                f'{where} has unknown key(s) {extra}; only "name" and "description" are allowed'
            )
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            check.fail(f'{where}.name must be a non-empty string like "{check.pluginName}.edit"')
        problem = pluginPermissionProblem(check.pluginName, name)
        if problem is not None:
            check.fail(f"{where}.name {name!r} {problem}")
        description = entry.get("description")
        if not isinstance(description, str) or not description.strip():
            check.fail(
                f"{where}.description of {name!r} must be a non-empty string saying what the "
                "permission allows"
            )
        if any(permission.name == name for permission in permissions):
            check.fail(f"{where}.name {name!r} is declared twice; declare each permission once")
        permissions.append(Permission(name, description.strip()))
    return tuple(permissions)


class _Checker:
    """Field accessors that raise ``PluginValidationError`` naming the file and key."""

    def __init__(self, pluginName: str, path: Path, document: dict) -> None:
        self.pluginName = pluginName
        self.path = path
        self.document = document

    def fail(self, message: str) -> NoReturn:
        raise PluginValidationError(self.pluginName, f"{self.path}: {message}")

    def string(self, section: str, key: str) -> str:
        block = self.document.get(section)
        if not isinstance(block, dict):
            self.fail(f'"{section}" must be an object holding "{section}.{key}"')
        value = block.get(key)
        if value is None:
            self.fail(f'"{section}.{key}" is missing; add it as a non-empty string')
        if not isinstance(value, str) or not value.strip():
            self.fail(f'"{section}.{key}" must be a non-empty string, not {value!r}')
        return value

    def stringList(self, key: str, *, required: bool) -> list[str]:
        value = self.document.get(key)
        if value is None:
            if required:
                self.fail(f'"{key}" is missing; add a list of service names, e.g. ["logic"]')
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f'"{key}" must be a list of strings, not {value!r}')
        return list(value)


def _uniqueKeysObject(pairs: list[tuple[str, Any]]) -> dict:
    """A JSON object as a dict; ``ValueError`` on a duplicate key (json-cfg reports it)."""
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("duplicate key")
    return document


def _plain(value: Any) -> Any:
    """Turn json-cfg's OrderedDicts into plain dicts, recursively."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _typeName(value: Any) -> str:
    """JSON name of a parsed value's type, for messages."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    for pyType, name in names.items():
        if isinstance(value, pyType):
            return name
    if value is None:
        return "null"
    return "a number"
