"""Tests for peek_plugin_base/testing/ServiceBuilder.py: the service context a test builds."""

from __future__ import annotations

import json

import pytest

from peek_field_service.platform_hook import FieldPlatformHook
from peek_platform.plugin.state import PluginState
from peek_platform.services import FIELD
from peek_plugin_base.testing.ServiceBuilder import makeServiceContext, nestConfig


def test_nest_config_merges_dotted_keys_and_sections():
    """Dotted keys and nested sections merge into one config.json document."""
    assert nestConfig({"a.b": 1, "a": {"c": 2}, "a.d.e": 3, "f": 4}) == {
        "a": {"b": 1, "c": 2, "d": {"e": 3}},
        "f": 4,
    }


def test_nest_config_refuses_a_key_under_a_value():
    """A dotted key below a plain value is an error naming the key."""
    with pytest.raises(ValueError, match=r"'a\.b': 'a' is set to a value"):
        nestConfig({"a": 1, "a.b": 2})


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
