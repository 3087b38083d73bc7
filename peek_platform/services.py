"""The table of the five Peek services: names, commands, homes and plugin hook names.

Everything that differs between services *by name* lives here, so the loader, the
launcher, the CLI and the docs all read one source of truth (DESIGN.md §3).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ROOT_ENV = "PEEK_HOME_ROOT"


@dataclass(frozen=True)
class ServiceSpec:
    """Static description of one Peek service."""

    #: Short key: ``logic``, ``field``, ``office``, ``agent`` or ``worker``.
    key: str
    #: The vortex name the service identifies itself with.
    vortexName: str
    #: The console command that starts it.
    command: str
    #: The entry-hook function names looked up on a plugin package, modern first.
    entryHookNames: tuple[str, ...]
    #: Values of ``requiresServices`` in plugin_package.json that mean "runs here".
    requiresServicesKeys: frozenset[str]
    #: Name of the published-API attribute on entry hooks, modern first.
    publishedApiNames: tuple[str, ...]

    @property
    def homeDirName(self) -> str:
        """Directory name of the service home, e.g. ``peek-logic-service.home``."""
        return f"{self.vortexName}.home"

    @property
    def logFileName(self) -> str:
        """File name of the service's rotating log inside its home."""
        return f"peek-{self.key}.log"

    def defaultHome(self, environ: dict[str, str] | None = None) -> Path:
        """Home directory: ``$PEEK_HOME_ROOT/<homeDirName>``, else ``~/<homeDirName>``."""
        env = os.environ if environ is None else environ
        root = env.get(HOME_ROOT_ENV)
        base = Path(root).expanduser() if root else Path.home()
        return base / self.homeDirName


LOGIC = ServiceSpec(
    key="logic",
    vortexName="peek-logic-service",
    command="run_peek_logic_service",
    entryHookNames=("peekLogicEntryHook", "peekServerEntryHook"),
    requiresServicesKeys=frozenset({"logic", "storage", "admin", "server"}),
    publishedApiNames=("publishedLogicApi", "publishedServerApi"),
)
FIELD = ServiceSpec(
    key="field",
    vortexName="peek-field-service",
    command="run_peek_field_service",
    entryHookNames=("peekFieldEntryHook", "peekClientEntryHook"),
    requiresServicesKeys=frozenset({"field", "client", "mobile"}),
    publishedApiNames=("publishedFieldApi", "publishedClientApi"),
)
OFFICE = ServiceSpec(
    key="office",
    vortexName="peek-office-service",
    command="run_peek_office_service",
    entryHookNames=("peekOfficeEntryHook", "peekClientEntryHook"),
    requiresServicesKeys=frozenset({"office", "client", "desktop"}),
    publishedApiNames=("publishedOfficeApi", "publishedClientApi"),
)
AGENT = ServiceSpec(
    key="agent",
    vortexName="peek-agent-service",
    command="run_peek_agent_service",
    entryHookNames=("peekAgentEntryHook",),
    requiresServicesKeys=frozenset({"agent"}),
    publishedApiNames=("publishedAgentApi",),
)
WORKER = ServiceSpec(
    key="worker",
    vortexName="peek-worker-service",
    command="run_peek_worker_service",
    entryHookNames=("peekWorkerEntryHook",),
    requiresServicesKeys=frozenset({"worker"}),
    publishedApiNames=("publishedWorkerApi",),
)

#: Every service, in the order the launcher starts them (logic first: the others link to it).
ALL_SERVICES: tuple[ServiceSpec, ...] = (LOGIC, FIELD, OFFICE, AGENT, WORKER)

SERVICES_BY_KEY: dict[str, ServiceSpec] = {spec.key: spec for spec in ALL_SERVICES}

#: Every ``requiresServices`` value the platform understands.
KNOWN_REQUIRES_SERVICES: frozenset[str] = frozenset().union(
    *(spec.requiresServicesKeys for spec in ALL_SERVICES)
)


def serviceByKey(key: str) -> ServiceSpec:
    """Return the spec for ``key``; raise ``KeyError`` naming the valid keys otherwise."""
    try:
        return SERVICES_BY_KEY[key]
    except KeyError:
        valid = ", ".join(SERVICES_BY_KEY)
        raise KeyError(f"unknown service {key!r}; expected one of: {valid}") from None
