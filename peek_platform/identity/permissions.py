"""Permissions: what a role may do. The platform declares its own, plugins theirs.

A plugin declares its permissions in ``plugin_package.json`` (``"permissions"``, read by
``peek_platform.plugin.metadata``); each name is ``<pluginName>.<word>``, such as
``peek_plugin_noop.edit``. The platform's own have no prefix (``admin``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peek_platform.plugin.metadata import PluginMetadata


class IdentityError(ValueError):
    """A user, role, permission or password is not acceptable; the message says why."""


class UnknownPermissionError(IdentityError):
    """A permission name that neither the platform nor an enabled plugin declares."""


@dataclass(frozen=True)
class Permission:
    """One thing a role may be allowed to do."""

    #: ``admin`` for the platform's, ``<pluginName>.<word>`` for a plugin's.
    name: str
    #: One line for administrators: what holding the permission allows.
    description: str


#: Needed to log in to the admin site and change the platform.
ADMIN_PERMISSION = "admin"

#: The permissions the platform itself checks.
PLATFORM_PERMISSIONS: tuple[Permission, ...] = (
    Permission(ADMIN_PERMISSION, "Use the admin site and change the platform"),
)

#: The part of a plugin permission after ``<pluginName>.``: lowercase letters, digits and
#: underscores, starting with a letter.
PERMISSION_WORD_PATTERN = r"[a-z][a-z0-9_]*"

#: The longest permission name the store keeps.
MAX_PERMISSION_NAME_LENGTH = 200

_WORD = re.compile(PERMISSION_WORD_PATTERN)


def pluginPermissionProblem(pluginName: str, name: str) -> str | None:
    """Why ``name`` is not a valid permission name for plugin ``pluginName``, or ``None``."""
    prefix = f"{pluginName}."
    example = f"{pluginName}.edit"
    if not name.startswith(prefix):
        return f"must start with the plugin's name and a dot, like {example!r}"
    if not _WORD.fullmatch(name[len(prefix) :]):
        return (
            f"must be {prefix}WORD where WORD is lowercase letters, digits and underscores "
            f"starting with a letter, like {example!r}"
        )
    if len(name) > MAX_PERMISSION_NAME_LENGTH:
        return f"is longer than {MAX_PERMISSION_NAME_LENGTH} characters"
    return None


def knownPermissions(plugins: Iterable[PluginMetadata] = ()) -> dict[str, Permission]:
    """Every permission by name: the platform's first, then each plugin's as declared.

    ``plugins`` is the metadata of the plugins whose permissions count (on logic: the
    installed plugins it enables).
    """
    known = {permission.name: permission for permission in PLATFORM_PERMISSIONS}
    for metadata in plugins:
        for permission in metadata.permissions:
            known.setdefault(permission.name, permission)
    return known


def checkPermissionNames(names: Iterable[str], known: Mapping[str, Permission]) -> None:
    """Raise ``UnknownPermissionError`` naming each of ``names`` not in ``known``, and the known."""
    unknown = sorted({name for name in names if name not in known})
    if unknown:
        knownText = ", ".join(known) or "none"
        plural = "s" if len(unknown) > 1 else ""
        raise UnknownPermissionError(
            f"unknown permission{plural} {', '.join(map(repr, unknown))}; known permissions "
            f"(the platform's and those of the plugins enabled on logic): {knownText}"
        )
