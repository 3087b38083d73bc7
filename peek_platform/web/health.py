"""``GET /health``: whether the service behind a site is up, for people and load balancers.

200 with ``{"service": ..., "status": "ok", ...}`` when every check passes, else 503 with
``"status": "unavailable"`` and the reasons, so a balancer takes the node out of rotation
while it starts or while it has lost its link to the logic service.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from twisted.web.iweb import IRequest
from twisted.web.resource import Resource

from peek_platform.plugin.state import PluginState, PluginStatus
from vortex.VortexFactory import NoVortexException, VortexFactory

#: One health check: ``(name, check)``; ``check()`` returns a reason when unhealthy, else None.
HealthCheck = tuple[str, Callable[[], str | None]]

_STARTING_STATES = frozenset({PluginState.PENDING, PluginState.LOADED, PluginState.RETRYING})
_STOPPING_STATES = frozenset({PluginState.STOPPED, PluginState.UNLOADED})


def pluginsStartedCheck(statuses: Callable[[], Iterable[PluginStatus]]) -> HealthCheck:
    """Unhealthy while plugins are still starting, or once they are being stopped."""

    def check() -> str | None:
        current = list(statuses())
        if any(s.state in _STOPPING_STATES for s in current):
            return "the service is stopping"
        starting = sorted(s.name for s in current if s.state in _STARTING_STATES)
        if starting:
            return "plugins are still starting: " + ", ".join(starting)
        return None

    return ("pluginsStarted", check)


def vortexLinkCheck(vortexName: str, factory: Callable[[], VortexFactory]) -> HealthCheck:
    """Unhealthy while this process has no authenticated vortex link to ``vortexName``."""

    def check() -> str | None:
        try:
            linked = factory().isVortexNameConnected(vortexName)
        except NoVortexException:
            return f"not linked to {vortexName}: this process has no vortex"
        if not linked:
            return f"not linked to {vortexName}"
        return None

    return ("linkedToLogic", check)


class HealthResource(Resource):
    """Answers ``GET /health`` with a small JSON document built from the checks."""

    isLeaf = True

    def __init__(self, serviceName: str, checks: Sequence[HealthCheck]) -> None:
        super().__init__()
        self.serviceName = serviceName
        self.checks = tuple(checks)

    def report(self) -> tuple[int, dict[str, Any]]:
        """Run the checks: the HTTP status and the JSON body."""
        body: dict[str, Any] = {"service": self.serviceName}
        reasons = []
        for name, check in self.checks:
            reason = check()
            body[name] = reason is None
            if reason is not None:
                reasons.append(reason)
        if reasons:
            body["status"] = "unavailable"
            body["reasons"] = reasons
            return 503, body
        body["status"] = "ok"
        return 200, body

    def render_GET(self, request: IRequest) -> bytes:
        """The report as JSON; never cached."""
        code, body = self.report()
        request.setResponseCode(code)
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"Cache-Control", b"no-store")
        return json.dumps(body, sort_keys=True).encode()
