"""PlatformHookBase: service id, file storage and plugin API lookup."""

from __future__ import annotations

import os
import socket

from twisted.internet import task

from peek_platform.platform_hook import PlatformHookBase
from peek_platform.plugin.loader import PluginLoader
from peek_platform.services import AGENT, LOGIC


def makeHook(tmp_path, spec=LOGIC, pluginName="peek_plugin_a", config=None):
    loader = PluginLoader(spec, [], lambda *args: None, reactor=task.Clock())
    return PlatformHookBase(spec, tmp_path / "home", config or {}, pluginName, loader)


def test_service_id_names_service_host_and_process(tmp_path):
    """serviceId is '<vortexName>:<hostname>:<pid>' and the same on every read."""
    hook = makeHook(tmp_path, spec=AGENT)
    expected = f"peek-agent-service:{socket.gethostname()}:{os.getpid()}"
    assert hook.serviceId == expected
    assert makeHook(tmp_path, spec=AGENT, pluginName="peek_plugin_b").serviceId == expected


def test_file_storage_directory_is_created_on_first_access(tmp_path):
    """fileStorageDirectory is <home>/plugin_data/<pluginName>, made when first asked."""
    hook = makeHook(tmp_path)
    expected = tmp_path / "home" / "plugin_data" / "peek_plugin_a"
    assert not expected.exists()
    assert hook.fileStorageDirectory == expected
    assert expected.is_dir()


def test_other_plugin_api_of_unknown_plugin_is_none(tmp_path):
    """getOtherPluginApi returns None for a plugin not enabled on this service."""
    assert makeHook(tmp_path).getOtherPluginApi("peek_plugin_missing") is None
