"""Tests for peek_logic_service/status/service.py: report checks and the live path over sockets."""

from __future__ import annotations

import logging

import pytest

from peek_logic_service.status.extension import PlatformStatusExtension
from peek_logic_service.status.service import StatusReportRejected, parseReport
from peek_platform.plugin.state import PluginState
from peek_platform.services import AGENT, FIELD, LOGIC
from peek_platform.vortex.extension import DataExchangeClientExtension, DataExchangeServerExtension
from peek_platform.vortex.status_report import ServiceIdentity
from peek_platform.vortex.tuples import STATUS_REPORT_FILT, PluginStatusTuple
from vortex.Payload import Payload
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.Tuple import Tuple, TupleField, addTupleType

SECRET = "a-test-secret-of-more-than-16-chars"


@addTupleType
class StrangerTuple(Tuple):
    """A registered tuple that is not a status."""

    __tupleType__ = "tests.status.StrangerTuple"
    x = TupleField()


def envelope(*tuples) -> PayloadEnvelope:
    return PayloadEnvelope.fromVortexMsg(
        Payload(filt=dict(STATUS_REPORT_FILT), tuples=list(tuples)).toVortexMsg()
    )


def good(uuid: str = "u1"):
    return ServiceIdentity("agent", "peek-agent-service", uuid, host="h", pid=1).statusTuple(
        [PluginStatusTuple(name="p", version="1", state="started", reason=None)]
    )


def test_parse_report_accepts_a_matching_report():
    """A well-typed report whose identity matches its link is accepted."""
    assert parseReport(envelope(good()), "peek-agent-service", "u1").vortexUuid == "u1"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: envelope(), "expected one ServiceStatusTuple"),
        (lambda: envelope(StrangerTuple(x=1)), "expected one ServiceStatusTuple"),
        (lambda: envelope(good("u2")), "differs from the authenticated link"),
        (lambda: envelope(_with(good(), pid="12")), "pid must be int"),
        (lambda: envelope(_with(good(), plugins=[1])), "plugins must hold PluginStatusTuple"),
        (lambda: envelope(_with(good(), serviceKey="field")), "does not belong"),
    ],
)
def test_parse_report_rejects_bad_reports_with_reason(make, reason):
    """Empty, foreign, mistyped or impersonating reports are refused, saying why."""
    with pytest.raises(StatusReportRejected, match=reason):
        parseReport(make(), "peek-agent-service", "u1")


def _with(tup, **values):
    for name, value in values.items():
        setattr(tup, name, value)
    return tup


def test_parse_report_rejects_an_unknown_tuple_type():
    """A body naming an unregistered tuple type is refused as undecodable."""
    body = Payload(filt=dict(STATUS_REPORT_FILT), tuples=[StrangerTuple(x=1)]).toVortexMsg()
    body = body.replace(b"tests.status.StrangerTuple", b"tests.status.NobodyTuple!")
    with pytest.raises(StatusReportRejected, match="undecodable"):
        parseReport(PayloadEnvelope.fromVortexMsg(body), "peek-agent-service", "u1")


@pytest.fixture
def running(peekSpin):
    """Start extensions; stop them in reverse after the test."""
    started = []

    def start(extension, ctx):
        ctx.config = extension.configure(ctx)
        extension.startBeforePlugins(ctx)
        extension.startAfterPlugins(ctx)
        started.append((extension, ctx))
        return extension

    yield start
    for extension, ctx in reversed(started):
        d = extension.stopAfterPlugins(ctx)
        if d is not None:
            peekSpin(lambda d=d: d.called)


def test_view_follows_services_over_the_data_exchange(makeCtx, running, peekSpin, caplog):
    """Reports, plugin changes and link drops of real client services show in logic's view."""
    logicCtx = makeCtx(LOGIC, port=0, secret=SECRET, plugins=("peek_plugin_l",))
    vortex = running(DataExchangeServerExtension(), logicCtx)
    status = running(PlatformStatusExtension(vortex), logicCtx)
    port = vortex.listeningPort.getHost().port
    clients = {}
    for spec in (AGENT, FIELD):
        ctx = makeCtx(spec, port=port, secret=SECRET, reconnectMaxSeconds=0.1)
        clients[spec.key] = (running(DataExchangeClientExtension(), ctx), ctx)

    def keys(connected=True):
        return sorted(
            s.serviceKey for s in status.view.snapshot().services if s.connected == connected
        )

    peekSpin(lambda: keys() == ["agent", "field", "logic"])
    logic = status.view.snapshot().services[0]
    assert [p.name for p in logic.plugins] == ["peek_plugin_l"]

    agentExt, agentCtx = clients["agent"]
    agentCtx.loader.plugin("peek_plugin_a").status.state = PluginState.FAILED
    agentCtx.loader.plugin("peek_plugin_a").status.reason = "boom"
    agentCtx.loader._statusChanged()  # what the loader does after its own state changes

    def agentPlugin():
        agent = status.view.service(agentExt.factory.vortexUuid)
        return (agent.plugins[0].state, agent.plugins[0].reason)

    peekSpin(lambda: agentPlugin() == ("failed", "boom"))

    fieldExt, fieldCtx = clients["field"]
    with caplog.at_level(logging.ERROR, logger="peek_logic_service.status.service"):
        bad = Payload(filt=dict(STATUS_REPORT_FILT), tuples=[StrangerTuple(x=1)]).toVortexMsg()
        fieldExt.factory.sendVortexMsg(bad, "peek-logic-service")
        peekSpin(lambda: "Rejected a platform status report from peek-field-service" in caplog.text)
    agentCtx.loader.plugin("peek_plugin_a").status.state = PluginState.STARTED
    agentCtx.loader._statusChanged()
    peekSpin(lambda: agentPlugin()[0] == "started")

    d = fieldExt.stopAfterPlugins(fieldCtx)
    peekSpin(lambda: d.called and keys(connected=False) == ["field"])
