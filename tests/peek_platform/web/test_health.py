"""Health checks: plugin start state and the vortex link to logic."""

from __future__ import annotations

from peek_platform.plugin.state import PluginState, PluginStatus
from peek_platform.web.health import HealthResource, pluginsStartedCheck, vortexLinkCheck
from vortex.VortexFactory import NoVortexException


def statuses(*states: PluginState):
    """A statuses() function returning plugins in ``states``."""
    return lambda: [PluginStatus(f"peek_plugin_{i}", state=s) for i, s in enumerate(states)]


def test_plugins_check_passes_when_all_settled():
    """Started, failed and skipped plugins count as settled."""
    _name, check = pluginsStartedCheck(
        statuses(PluginState.STARTED, PluginState.FAILED, PluginState.SKIPPED)
    )
    assert check() is None


def test_plugins_check_names_plugins_still_starting():
    """Pending and loaded plugins are named as still starting."""
    _name, check = pluginsStartedCheck(statuses(PluginState.STARTED, PluginState.PENDING))
    assert check() == "plugins are still starting: peek_plugin_1"


def test_plugins_check_reports_stopping():
    """Once plugins stop, the service reports it is stopping."""
    _name, check = pluginsStartedCheck(statuses(PluginState.STOPPED))
    assert check() == "the service is stopping"


def test_link_check_without_vortex_says_so(fakeVortex):
    """With no vortex in the process the link check says why."""

    def noVortex():
        raise NoVortexException("none")

    name, check = vortexLinkCheck("peek-logic-service", noVortex)
    assert name == "linkedToLogic"
    assert check() == "not linked to peek-logic-service: this process has no vortex"


def test_logic_health_has_no_link_check():
    """A resource with only the plugin check reports ok without linkedToLogic."""
    resource = HealthResource("peek-logic-service", [pluginsStartedCheck(statuses())])
    code, body = resource.report()
    assert code == 200
    assert body == {"service": "peek-logic-service", "status": "ok", "pluginsStarted": True}


def test_report_lists_every_failing_reason(fakeVortex):
    """All failing checks' reasons are listed, and each check's flag is false."""
    resource = HealthResource(
        "peek-field-service",
        [
            pluginsStartedCheck(statuses(PluginState.PENDING)),
            vortexLinkCheck("peek-logic-service", lambda: fakeVortex),
        ],
    )
    code, body = resource.report()
    assert code == 503
    assert body["pluginsStarted"] is False
    assert body["linkedToLogic"] is False
    assert len(body["reasons"]) == 2
