"""Tests for peek_platform/testing/ServiceBuilder.py: the service context a test builds."""

from __future__ import annotations

import json

from peek_field_service.platform_hook import FieldPlatformHook
from peek_platform.plugin.state import PluginState
from peek_platform.services import FIELD
from peek_platform.testing.ServiceBuilder import makeServiceContext


def test_context_has_the_written_config_and_a_loader_of_the_plugins(tmp_path):
    """The context's config is read from the home; its loader holds the named plugins."""
    home = tmp_path / "field-home"
    ctx = makeServiceContext("field", home, {"dataExchange.port": 9}, plugins=["peek_plugin_z"])
    written = json.loads((home / "config.json").read_text())
    assert (written["dataExchange"]["port"], ctx.config["dataExchange.port"]) == (9, 9)
    assert ctx.spec is FIELD
    assert [(s.name, s.state) for s in ctx.loader.statuses()] == [
        ("peek_plugin_z", PluginState.PENDING)
    ]


def test_context_builds_the_services_platform_hook(tmp_path):
    """The loader's platform factory makes the real hook of the service for a plugin."""
    ctx = makeServiceContext("field", tmp_path, plugins=["peek_plugin_z"])
    hook = ctx.loader._platformFactory("peek_plugin_z", tmp_path, ctx.loader)
    assert isinstance(hook, FieldPlatformHook)
    assert hook.pluginName == "peek_plugin_z"
