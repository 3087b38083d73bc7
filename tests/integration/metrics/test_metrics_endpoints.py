"""Every /metrics endpoint of the five real service processes: parsed, and counting an RPC.

A test plugin runs on every service: logic serves the RPC ``ping``, the other four call it
once their link is up. Logic's admin site, field's and office's app sites and the agent's
and worker's metrics listeners are then scraped over real sockets and parsed with
prometheus-client's parser.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from peek_platform.services import AGENT, ALL_SERVICES, FIELD, LOGIC, OFFICE, WORKER

pytestmark = pytest.mark.integration

PLUGIN = "peek_plugin_itest_metrics"
RPC_NAME = f"{PLUGIN}.ping"
#: Where each service serves /metrics: a site's name, or the metrics listener.
LISTENER = "listener"
ENDPOINTS = {LOGIC.key: "admin", FIELD.key: "field", OFFICE.key: "office"}
ENDPOINTS.update({AGENT.key: LISTENER, WORKER.key: LISTENER})

_PLUGIN_INIT = '''"""Integration-test plugin: logic serves ping; the other services call it once."""

import logging

from twisted.internet import task

from peek_plugin_base.agent.PluginAgentEntryHookABC import PluginAgentEntryHookABC
from peek_plugin_base.field.PluginFieldEntryHookABC import PluginFieldEntryHookABC
from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC
from peek_plugin_base.office.PluginOfficeEntryHookABC import PluginOfficeEntryHookABC
from peek_plugin_base.worker.PluginWorkerEntryHookABC import PluginWorkerEntryHookABC
from vortex.rpc.RPC import vortexRPC

logger = logging.getLogger(__name__)


@vortexRPC("peek-logic-service")
def ping(n):
    return n + 1


class LogicHook(PluginLogicEntryHookABC):
    def load(self):
        pass

    def start(self):
        ping.start()

    def stop(self):
        ping.shutdown()

    def unload(self):
        pass


def _callerClass(base):
    class CallerHook(base):
        def load(self):
            self._loop = None

        def start(self):
            self._loop = task.LoopingCall(self._call)
            self._loop.start(0.1)

        def _call(self):
            def answered(value):
                if self._loop is not None and self._loop.running:
                    self._loop.stop()
                    logger.info("ITEST metrics ping answered %s", value)

            ping(1).addCallbacks(answered, lambda failure: None)

        def stop(self):
            if self._loop is not None and self._loop.running:
                self._loop.stop()

        def unload(self):
            pass

    return CallerHook


def peekLogicEntryHook():
    return LogicHook


def peekFieldEntryHook():
    return _callerClass(PluginFieldEntryHookABC)


def peekOfficeEntryHook():
    return _callerClass(PluginOfficeEntryHookABC)


def peekAgentEntryHook():
    return _callerClass(PluginAgentEntryHookABC)


def peekWorkerEntryHook():
    return _callerClass(PluginWorkerEntryHookABC)
'''


def writeMetricsPlugin(directory: Path) -> Path:
    """Write the metrics test plugin into ``directory``; the directory."""
    package = directory / PLUGIN
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(_PLUGIN_INIT, encoding="utf-8")
    metadata = {
        "plugin": {"title": PLUGIN, "packageName": PLUGIN, "version": "0.0.1"},
        "requiresServices": [spec.key for spec in ALL_SERVICES],
    }
    (package / "plugin_package.json").write_text(json.dumps(metadata), encoding="utf-8")
    return directory


def get(url: str, *, sourceAddress: str | None = None) -> tuple[int, str]:
    """GET ``url`` (``http://host:port/path``), from ``sourceAddress`` when given."""
    hostPort, path = url.removeprefix("http://").split("/", 1)
    host, port = hostPort.rsplit(":", 1)
    source = (sourceAddress, 0) if sourceAddress else None
    connection = http.client.HTTPConnection(host, int(port), timeout=10, source_address=source)
    try:
        connection.request("GET", "/" + path)
        answer = connection.getresponse()
        return answer.status, answer.read().decode("utf-8")
    finally:
        connection.close()


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a Prometheus text page, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture(scope="module")
def metricsUrls(tmp_path_factory, moduleProcesses, writeServiceConfig) -> dict[str, str]:
    """The five services linked to one logic with the plugin, each RPC call answered; the
    /metrics URL of each."""
    pluginsDir = writeMetricsPlugin(tmp_path_factory.mktemp("metrics-plugin"))
    homeRoot = tmp_path_factory.mktemp("metrics-root")
    homes = {spec.key: homeRoot / spec.homeDirName for spec in ALL_SERVICES}
    writeServiceConfig(LOGIC, homes[LOGIC.key], plugins=[PLUGIN])
    commands = {
        LOGIC.key: moduleProcesses.service(
            LOGIC, homeRoot, home=homes[LOGIC.key], pluginsDir=pluginsDir
        )
    }
    port = commands[LOGIC.key].dataExchangePort()
    for spec in ALL_SERVICES[1:]:
        listener = ENDPOINTS[spec.key] == LISTENER
        writeServiceConfig(
            spec,
            homes[spec.key],
            plugins=[PLUGIN],
            dataExchangePort=port,
            settings={"metrics.sitePort": 0} if listener else None,
        )
        commands[spec.key] = moduleProcesses.service(
            spec, homeRoot, home=homes[spec.key], pluginsDir=pluginsDir
        )
    urls = {}
    for spec in ALL_SERVICES:
        command = commands[spec.key]
        if spec is not LOGIC:
            command.waitForLine(r"ITEST metrics ping answered 2")
        if ENDPOINTS[spec.key] == LISTENER:
            urls[spec.key] = command.waitForLine(
                r"metrics listening on (http://[\d.]+:\d+/metrics)"
            ).group(1)
        else:
            urls[spec.key] = command.siteUrl(ENDPOINTS[spec.key]) + "/metrics"
    return urls


@pytest.mark.parametrize("spec", ALL_SERVICES, ids=[spec.key for spec in ALL_SERVICES])
def test_metrics_endpoint_parses_and_counts_the_rpc(metricsUrls, spec):
    """Each service's /metrics answers loopback without a login, parses as Prometheus text,
    reports process and plugin metrics, and counts ping: four calls served by logic, one
    call made (and answered) by each other service."""
    status, text = get(metricsUrls[spec.key])
    assert status == 200, text
    found = samples(text)
    assert found[("peek_service_info", frozenset({("service", spec.key), ("version", "0.1.0")}))]
    assert found[("process_resident_memory_bytes", frozenset())] > 0
    assert ("process_open_fds", frozenset()) in found
    started = frozenset({("plugin", PLUGIN), ("state", "started")})
    assert found[("peek_plugin_state", started)] == 1
    if spec is LOGIC:
        labels = frozenset({("rpc", RPC_NAME), ("role", "server")})
        assert found[("peek_vortex_rpc_calls_total", labels)] >= 4
        assert found[("peek_vortex_rpc_errors_total", labels)] == 0
        for peer in (FIELD, OFFICE, AGENT, WORKER):
            assert found[("peek_vortex_links", frozenset({("peer", peer.vortexName)}))] == 1
        assert ("peek_celery_tasks_submitted_total", frozenset()) in found
    else:
        labels = frozenset({("rpc", RPC_NAME), ("role", "client")})
        assert found[("peek_vortex_rpc_calls_total", labels)] >= 1
        finished = found[("peek_vortex_rpc_seconds_count", labels)]
        answered = finished - found[("peek_vortex_rpc_errors_total", labels)]
        assert answered == 1
        logicPeer = frozenset({("peer", LOGIC.vortexName)})
        assert found[("peek_vortex_links", logicPeer)] == 1
        assert found[("peek_vortex_sent_messages_total", logicPeer)] >= 1


@pytest.mark.parametrize("key", [LOGIC.key, AGENT.key], ids=["admin site", "agent listener"])
def test_metrics_refuse_another_host_without_a_token(metricsUrls, key):
    """A peer that is not loopback (127.0.0.2) gets 403 when no bearer token is set, on a
    site (where the admin login does not apply to /metrics) as on a listener."""
    status, text = get(metricsUrls[key], sourceAddress="127.0.0.2")
    assert status == 403
    assert "metrics.bearerToken" in text
