"""WorkerPlatformHook: the worker service's platform hook."""

from __future__ import annotations

import re

import pytest
from twisted.internet import task

from peek_platform.plugin.loader import PluginLoader
from peek_platform.services import WORKER
from peek_plugin_base.worker.PeekWorkerPlatformHookABC import PeekWorkerPlatformHookABC
from peek_worker_service.platform_hook import WorkerPlatformHook


def makeHook(tmp_path, config):
    loader = PluginLoader(WORKER, [], lambda *args: None, reactor=task.Clock())
    return WorkerPlatformHook(tmp_path, config, "peek_plugin_a", loader)


def test_is_a_complete_worker_platform_hook(tmp_path):
    """The hook implements every method of the worker platform hook ABC."""
    assert isinstance(makeHook(tmp_path, {}), PeekWorkerPlatformHookABC)


def test_logic_location_comes_from_config(tmp_path):
    """peekLogicHost/Port (and legacy peekServerHost/Port) read dataExchange.*."""
    hook = makeHook(tmp_path, {"dataExchange.host": "10.0.0.5", "dataExchange.port": "8011"})
    assert (hook.peekLogicHost, hook.peekLogicHttpPort) == ("10.0.0.5", 8011)
    assert (hook.peekServerHost, hook.peekServerHttpPort) == ("10.0.0.5", 8011)


def test_missing_logic_host_names_the_key(tmp_path):
    """A config without dataExchange.host fails naming the key and the service."""
    message = "the worker service config has no 'dataExchange.host'"
    with pytest.raises(LookupError, match=re.escape(message)):
        makeHook(tmp_path, {}).peekLogicHost  # noqa: B018


def test_file_storage_is_under_the_worker_home(tmp_path):
    """fileStorageDirectory lives in this service's home, per plugin."""
    assert makeHook(tmp_path, {}).fileStorageDirectory == tmp_path / "plugin_data" / "peek_plugin_a"
