"""Dotted config keys (``"httpServer.field.sitePort"``) on nested ``config.json`` documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def setDotted(document: dict[str, Any], dottedKey: str, value: Any) -> None:
    """Set ``dottedKey`` in nested dicts, creating the sections it needs.

    ``ValueError`` names the key when a section on the way already holds a plain value.
    """
    *parents, leaf = dottedKey.split(".")
    section = document
    for part in parents:
        section = section.setdefault(part, {})
        if not isinstance(section, dict):
            raise ValueError(f"config key {dottedKey!r}: {part!r} is set to a value, not a section")
    section[leaf] = value


def nestDotted(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A nested document from ``settings``, whose keys may be dotted (``"a.b": 1``).

    Nested mappings and dotted keys can be mixed; both merge into one document.
    """
    document: dict[str, Any] = {}
    for key, value in settings.items():
        nested = nestDotted(value) if isinstance(value, Mapping) else value
        *parents, leaf = key.split(".")
        section = document
        for part in parents:
            section = section.setdefault(part, {})
            if not isinstance(section, dict):
                raise ValueError(f"config key {key!r}: {part!r} is set to a value, not a section")
        if isinstance(nested, dict) and isinstance(section.get(leaf), dict):
            section[leaf].update(nested)
        else:
            section[leaf] = nested
    return document
