"""Tests for peek_platform/cli/status_command.py (fetch over a real loopback data exchange)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from twisted.internet import reactor

from peek_logic_service.status.extension import PlatformStatusExtension
from peek_platform.cli.base import EXIT_USAGE, CommandFailed
from peek_platform.cli.logic_link import LogicUnavailable, logicEndpoint
from peek_platform.cli.main import main
from peek_platform.cli.status_command import fetchStatus, formatStatus, statusDicts
from peek_platform.config import loadServiceConfig
from peek_platform.plugin.state import PluginState, PluginStatus
from peek_platform.services import LOGIC
from peek_platform.vortex.extension import DataExchangeServerExtension
from peek_plugin_base.testing.ReactorWait import waitForDeferred

SECRET = "cli-test-secret-0123456789abcdef"


def writeLogicConfig(home, **dataExchange):
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.json").write_text(json.dumps({"dataExchange": dataExchange}))
    return loadServiceConfig(LOGIC, home)


@pytest.fixture
def logic(tmp_path):
    """A running logic data exchange with the status extension, on a free port."""
    home = tmp_path / "logic"
    config = writeLogicConfig(home, port=0, secret=SECRET)
    loader = SimpleNamespace(
        statuses=lambda: [
            PluginStatus(
                name="peek_plugin_x",
                version="2",
                state=PluginState.STARTED,
                loadSeconds=0.0123,
                startSeconds=0.004,
            )
        ],
        addStatusListener=lambda listener: lambda: None,  # its statuses never change
    )
    ctx = SimpleNamespace(spec=LOGIC, home=home, config=config, reactor=reactor, loader=loader)
    vortex = DataExchangeServerExtension()
    status = PlatformStatusExtension(vortex)
    for ext in (vortex, status):
        ctx.config = ext.configure(ctx)
        ext.startBeforePlugins(ctx)
        ext.startAfterPlugins(ctx)
    yield SimpleNamespace(home=home, port=vortex.listeningPort.getHost().port)
    status.stopAfterPlugins(ctx)
    waitForDeferred(vortex.stopAfterPlugins(ctx))


def test_fetch_returns_logic_snapshot(logic):
    """fetchStatus links with the secret and returns logic's view with its plugins."""
    url = f"ws://127.0.0.1:{logic.port}/vortexws"
    snapshot = waitForDeferred(fetchStatus(url, SECRET.encode(), reactor=reactor, timeout=5))
    [service] = snapshot.services
    assert service.serviceKey == "logic" and service.plugins[0].name == "peek_plugin_x"


def test_fetch_with_wrong_secret_fails_clearly(logic):
    """A wrong secret ends in LogicUnavailable saying the link could not be made."""
    url = f"ws://127.0.0.1:{logic.port}/vortexws"
    with pytest.raises(LogicUnavailable, match="cannot link"):
        waitForDeferred(fetchStatus(url, b"w" * 32, reactor=reactor, timeout=5))


def test_logic_endpoint_reads_url_and_secret(tmp_path):
    """The URL comes from bindAddress (wildcards mean loopback) and port; the secret too."""
    home = tmp_path / "l"
    writeLogicConfig(home, bindAddress="0.0.0.0", port=9123, secret=SECRET)
    assert logicEndpoint(home) == ("ws://127.0.0.1:9123/vortexws", SECRET.encode(), False)


def test_logic_endpoint_without_config_or_secret_fails(tmp_path):
    """No config, or a config without a secret, is a CommandFailed naming the file."""
    with pytest.raises(CommandFailed, match="no logic service configuration"):
        logicEndpoint(tmp_path / "none")
    writeLogicConfig(tmp_path / "l", port=1)
    with pytest.raises(CommandFailed, match=r"has no dataExchange\.secret"):
        logicEndpoint(tmp_path / "l")


def test_status_with_os_chosen_port_asks_for_url(tmp_path, capsys):
    """Port 0 in logic's config exits 2 telling the user to pass --url from logic's log."""
    home = tmp_path / "l"
    writeLogicConfig(home, port=0, secret=SECRET)
    assert main(["status", "--home", str(home)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "dataExchange.port to 0" in err
    assert "data exchange listening on" in err and "--url" in err


def test_logic_endpoint_with_url_ignores_os_chosen_port(tmp_path):
    """With an explicit URL, port 0 in the config is no obstacle; the secret still comes from it."""
    home = tmp_path / "l"
    writeLogicConfig(home, port=0, secret=SECRET)
    url = "ws://127.0.0.1:40123/vortexws"
    assert logicEndpoint(home, url) == (url, SECRET.encode(), False)


def test_format_lists_reported_and_missing_services(logic):
    """The text shows each reported service with its plugins and the ones never heard of."""
    url = f"ws://127.0.0.1:{logic.port}/vortexws"
    services = statusDicts(waitForDeferred(fetchStatus(url, SECRET.encode(), reactor=reactor)))
    assert [s["serviceKey"] for s in services] == ["logic", "field", "office", "agent", "worker"]
    text = formatStatus(services, "ws://x", datetime(2026, 1, 1, tzinfo=UTC))
    assert "logic   connected since" in text
    assert "    peek_plugin_x 2  started (load 12 ms, start 4 ms)" in text
    assert "agent   not connected (never reported to logic)" in text
