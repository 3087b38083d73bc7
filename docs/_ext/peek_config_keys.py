"""Sphinx directive ``peek-config-keys``: the table of every config.json key, from the code.

The table is built from ``peek_platform.config.keys.CONFIG_KEYS`` at build time, so the
admin guide can never disagree with the defaults and types the services really use.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

#: Where the directive finds the keys, as ``module:attribute`` (a Sphinx config value).
DEFAULT_SOURCE = "peek_platform.config.keys:CONFIG_KEYS"

#: Service keys in the order the platform lists them (docs/dev/architecture.rst).
SERVICE_ORDER = ("logic", "field", "office", "agent", "worker")

COLUMNS = ("Key", "Type", "Default", "Services", "Description")
COLUMN_WIDTHS = (24, 8, 18, 14, 36)


class ConfigKeyLike(Protocol):
    """The shape of ``peek_platform.config.keys.ConfigKey`` that the table reads."""

    path: str
    default: Any
    description: str
    services: frozenset[str]
    secret: bool

    @property
    def typeName(self) -> str:
        """Human name of the value type, e.g. ``string`` or ``list of strings``."""

    @property
    def constraintText(self) -> str:
        """Allowed values beyond the type (``one of ...``, ``>= 1``), or ``''``."""


class ConfigKeysSourceError(Exception):
    """The configured key source cannot be imported or is not a sequence of keys."""


def loadConfigKeys(source: str) -> Sequence[ConfigKeyLike]:
    """Import ``module:attribute`` and return it; raise ConfigKeysSourceError saying why not."""
    moduleName, sep, attrName = source.partition(":")
    if not sep or not moduleName or not attrName:
        raise ConfigKeysSourceError(
            f"peek_config_keys_source {source!r} must look like 'package.module:ATTRIBUTE'"
        )
    try:
        module = importlib.import_module(moduleName)
    except ImportError as error:
        raise ConfigKeysSourceError(
            f"cannot import {moduleName!r} for the config key table: {error}"
        ) from error
    try:
        keys = getattr(module, attrName)
    except AttributeError:
        raise ConfigKeysSourceError(
            f"module {moduleName!r} has no attribute {attrName!r}"
        ) from None
    if isinstance(keys, str | bytes) or not isinstance(keys, Sequence):
        raise ConfigKeysSourceError(f"{source} is a {type(keys).__name__}, expected a sequence")
    return keys


def formatDefault(key: ConfigKeyLike) -> str:
    """The default as it appears in config.json (JSON)."""
    try:
        return json.dumps(key.default)
    except TypeError:
        return repr(key.default)


def formatServices(services: Iterable[str]) -> str:
    """Services in platform order; ``all`` when the key applies to every service."""
    serviceSet = set(services)
    if serviceSet == set(SERVICE_ORDER):
        return "all"
    known = [name for name in SERVICE_ORDER if name in serviceSet]
    return ", ".join(known + sorted(serviceSet - set(SERVICE_ORDER)))


def _entry(*children: nodes.Node) -> nodes.entry:
    entry = nodes.entry()
    entry += nodes.paragraph("", "", *children)
    return entry


def _descriptionEntry(key: ConfigKeyLike) -> nodes.entry:
    children: list[nodes.Node] = [nodes.Text(key.description)]
    if key.constraintText:
        children.append(nodes.Text(f" Allowed: {key.constraintText}."))
    if key.secret:
        children.append(nodes.Text(" Secret: masked wherever the configuration is shown."))
    return _entry(*children)


def configKeysTable(keys: Iterable[ConfigKeyLike]) -> nodes.table:
    """Build a docutils table with one row per key: key, type, default, services, text."""
    table = nodes.table(classes=["peek-config-keys"])
    group = nodes.tgroup(cols=len(COLUMNS))
    table += group
    for width in COLUMN_WIDTHS:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    headRow = nodes.row()
    for title in COLUMNS:
        headRow += _entry(nodes.Text(title))
    head += headRow
    group += head
    body = nodes.tbody()
    for key in keys:
        row = nodes.row(ids=[nodes.make_id(f"config-{key.path}")])
        row += _entry(nodes.literal(text=key.path))
        row += _entry(nodes.Text(key.typeName))
        row += _entry(nodes.literal(text=formatDefault(key)))
        row += _entry(nodes.Text(formatServices(key.services)))
        row += _descriptionEntry(key)
        body += row
    group += body
    return table


class PeekConfigKeysDirective(SphinxDirective):
    """Render the table of config keys from ``peek_config_keys_source``."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        """Import the keys and return the table; a missing source is a build error."""
        source = self.config.peek_config_keys_source
        try:
            keys = loadConfigKeys(source)
        except ConfigKeysSourceError as error:
            raise self.error(f"peek-config-keys: {error}") from error
        if not keys:
            raise self.error(f"peek-config-keys: {source} is empty; there is nothing to document")
        return [configKeysTable(keys)]


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive and its ``peek_config_keys_source`` config value."""
    app.add_config_value("peek_config_keys_source", DEFAULT_SOURCE, "env", types=[str])
    app.add_directive("peek-config-keys", PeekConfigKeysDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
