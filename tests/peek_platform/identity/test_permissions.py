"""Permission declarations: the platform's own, plugin names and the known set."""

from __future__ import annotations

import json

import pytest

from peek_platform.identity.permissions import (
    PLATFORM_PERMISSIONS,
    IdentityError,
    Permission,
    UnknownPermissionError,
    checkPermissionNames,
    knownPermissions,
    pluginPermissionProblem,
)
from peek_platform.plugin.metadata import readPluginMetadata


def pluginMetadata(tmp_path, name, permissions):
    """The metadata of a plugin package ``name`` declaring ``permissions``."""
    rootDir = tmp_path / name
    rootDir.mkdir()
    document = {
        "plugin": {"title": name, "packageName": name, "version": "1.0.0"},
        "requiresServices": ["logic"],
        "permissions": permissions,
    }
    (rootDir / "plugin_package.json").write_text(json.dumps(document))
    return readPluginMetadata(name, rootDir)


def test_platform_declares_admin():
    """The platform's only permission is ``admin``, with its description."""
    assert PLATFORM_PERMISSIONS == (
        Permission("admin", "Use the admin site and change the platform"),
    )


def test_known_permissions_are_the_platforms_then_each_plugins(tmp_path):
    """knownPermissions maps names to Permission: platform first, then plugins in order."""
    edit = {"name": "peek_plugin_a.edit", "description": "Edit things"}
    view = {"name": "peek_plugin_b.view", "description": "View things"}
    plugins = [
        pluginMetadata(tmp_path, "peek_plugin_a", [edit]),
        pluginMetadata(tmp_path, "peek_plugin_b", [view]),
    ]
    known = knownPermissions(plugins)
    assert list(known) == ["admin", "peek_plugin_a.edit", "peek_plugin_b.view"]
    assert known["peek_plugin_b.view"] == Permission("peek_plugin_b.view", "View things")
    assert list(knownPermissions()) == ["admin"]


def test_unknown_permissions_are_named_with_the_known_ones():
    """checkPermissionNames refuses unknown names, listing them and every known one."""
    known = knownPermissions()
    checkPermissionNames(["admin"], known)
    with pytest.raises(UnknownPermissionError) as raised:
        checkPermissionNames(["admin", "peek_plugin_x.y", "root"], known)
    message = str(raised.value)
    assert "unknown permissions 'peek_plugin_x.y', 'root'" in message
    assert message.endswith(": admin")
    assert isinstance(raised.value, IdentityError)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("peek_plugin_a.edit", None),
        ("peek_plugin_a.edit_2", None),
        ("edit", "must start with the plugin's name"),
        ("peek_plugin_b.edit", "must start with the plugin's name"),
        ("peek_plugin_a.", "lowercase letters, digits and underscores"),
        ("peek_plugin_a.Edit", "lowercase letters, digits and underscores"),
        ("peek_plugin_a.2edit", "starting with a letter"),
        ("peek_plugin_a.edit.more", "lowercase letters, digits and underscores"),
        ("peek_plugin_a." + "x" * 200, "longer than 200"),
    ],
)
def test_plugin_permission_names(name, problem):
    """A plugin permission is ``<plugin>.<word>``; a bad one gets a reason saying what."""
    result = pluginPermissionProblem("peek_plugin_a", name)
    if problem is None:
        assert result is None
    else:
        assert problem in result
