"""Fixtures for the noop plugin tests: the plugin of this checkout, and Peek as real processes.

``noopServices`` starts logic, then agent, field, office and worker, each as its own
process with the noop plugin enabled, in homes under one temporary ``$PEEK_HOME_ROOT``
(shared data exchange secret, a free data exchange port, web sites on OS-picked ports,
the embedded Celery broker). It is started once per test module and database: logic's
embedded SQLite, and for the tests of storage a real PostgreSQL database (then only logic
and worker run, both on it).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from peek_platform.services import AGENT, ALL_SERVICES, FIELD, LOGIC, OFFICE, WORKER, ServiceSpec
from peek_platform.testing.ServiceProcess import ServiceProcess
from peek_plugin_base.storage.DbConnection import DbConnection
from peek_plugin_base.testing.FreePort import freeTcpPort

#: The noop plugin project in this repository.
NOOP_PROJECT_DIR = Path(__file__).resolve().parents[3] / "plugins" / "peek-plugin-noop"
#: The noop package directory.
NOOP_PACKAGE_DIR = NOOP_PROJECT_DIR / "peek_plugin_noop"

#: Seconds any single wait for a log line may take.
WAIT_SECONDS = 30.0
#: The data exchange secret every test service shares.
SECRET = "noop-plugin-test-secret-0123456789"


@pytest.fixture(scope="session")
def noopOnPath() -> Path:
    """The noop package of this checkout, first on sys.path (imported once per session).

    Its modules stay imported: tuple types are registered once per process.
    """
    if str(NOOP_PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(NOOP_PROJECT_DIR))
    return NOOP_PACKAGE_DIR


def writeServiceConfigs(
    homeRoot: Path,
    pluginNames: Sequence[str],
    specs: Sequence[ServiceSpec] = ALL_SERVICES,
    databaseUrl: str = "",
) -> None:
    """Write a config.json per service: the plugins, the secret, ports for the test, and for
    logic and worker ``sqlalchemy.connectUrl`` (empty: logic's embedded SQLite)."""
    dataExchangePort = freeTcpPort()
    for spec in specs:
        home = homeRoot / spec.homeDirName
        home.mkdir(parents=True)
        config: dict = {
            "plugin": {"enabled": list(pluginNames)},
            "logging": {"level": "INFO"},
            "dataExchange": {"port": dataExchangePort, "secret": SECRET},
        }
        if spec.key == LOGIC.key:
            config["httpServer"] = {"admin": {"sitePort": 0, "bindAddress": "127.0.0.1"}}
        if spec.key in (FIELD.key, OFFICE.key):
            config["httpServer"] = {spec.key: {"sitePort": 0, "bindAddress": "127.0.0.1"}}
        if spec.key == WORKER.key:
            config["celery"] = {"workerConcurrency": 1}
        if databaseUrl and spec.key in (LOGIC.key, WORKER.key):
            config["sqlalchemy"] = {"connectUrl": databaseUrl}
        (home / "config.json").write_text(json.dumps(config), encoding="utf-8")


def serviceEnv(homeRoot: Path, pythonPath: Sequence[Path] = ()) -> dict[str, str]:
    """Environment of a service under test: the home root, and extra import paths first."""
    env = dict(os.environ)
    env["PEEK_HOME_ROOT"] = str(homeRoot)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        [*map(str, pythonPath), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    )
    return env


@dataclass
class RunningPlatform:
    """The service processes started for one test module, by service key."""

    homeRoot: Path
    #: The environment the services run with (for helper processes of the tests).
    env: dict[str, str]
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    #: The SQLAlchemy URL of logic's database (the embedded SQLite file by default).
    databaseUrl: str = ""

    def start(self, spec: ServiceSpec) -> ServiceProcess:
        """Start ``spec``'s command with its home under ``homeRoot``."""
        home = self.homeRoot / spec.homeDirName
        service = ServiceProcess.forService(spec, self.env, home=home, timeout=WAIT_SECONDS)
        self.services[spec.key] = service
        return service

    def stopAll(self) -> None:
        """Stop every service, the logic service last."""
        for key in sorted(self.services, key=lambda key: key == LOGIC.key):
            self.services[key].stop()


def startPlatform(
    homeRoot: Path,
    pluginName: str,
    pythonPath: Sequence[Path] = (),
    databaseUrl: str = "",
    specs: Sequence[ServiceSpec] = ALL_SERVICES,
) -> RunningPlatform:
    """Start logic, wait until it has started its plugins, then start the others of
    ``specs`` (all five by default).

    Logic and worker use ``databaseUrl``, or logic's embedded SQLite when it is empty.
    """
    others = [spec for spec in (AGENT, FIELD, OFFICE, WORKER) if spec in specs]
    writeServiceConfigs(homeRoot, [pluginName], [LOGIC, *others], databaseUrl=databaseUrl)
    env = serviceEnv(homeRoot, pythonPath)
    embedded = f"sqlite:///{homeRoot / LOGIC.homeDirName / 'peek.sqlite'}"
    platform = RunningPlatform(homeRoot, env, databaseUrl=databaseUrl or embedded)
    try:
        logic = platform.start(LOGIC)
        logic.waitForLine(rf"{LOGIC.vortexName} started: ")
        for spec in others:
            platform.start(spec)
        for spec in others:
            platform.services[spec.key].waitForLine(rf"{spec.vortexName} started: ")
    except BaseException:
        platform.stopAll()
        raise
    return platform


@pytest.fixture(scope="module")
def noopServices(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningPlatform]:
    """The noop plugin of this checkout on real services; a test names the database by
    parametrising this fixture indirectly with ``"sqlite"`` or ``"postgresql"`` (SQLite when
    it does not).

    On logic's embedded SQLite all five run: logic, agent, field, office and worker. On a new
    database of the session's PostgreSQL server only the two that use storage run: logic
    and worker.
    """
    database = getattr(request, "param", "sqlite")
    databaseUrl = ""
    specs: Sequence[ServiceSpec] = ALL_SERVICES
    if database == "postgresql":
        databaseUrl = request.getfixturevalue("peekPostgresServer").createDatabase()
        specs = (LOGIC, WORKER)
    platform = startPlatform(
        tmp_path_factory.mktemp(f"noop-root-{database}"),
        "peek_plugin_noop",
        [NOOP_PROJECT_DIR],
        databaseUrl=databaseUrl,
        specs=specs,
    )
    yield platform
    platform.stopAll()


@pytest.fixture
def noopSqlite(noopOnPath: Path, tmp_path: Path) -> Iterator[DbConnection]:
    """Noop's tables migrated on a new embedded SQLite database; its DbConnection."""
    base = importlib.import_module("peek_plugin_noop._private.storage.DeclarativeBase")
    base.loadStorageTuples()
    db = DbConnection(
        f"sqlite:///{tmp_path / 'peek.sqlite'}",
        base.metadata,
        str(noopOnPath / "_private" / "alembic"),
        enableCreateAll=False,
        isReactorThread=lambda: False,
    )
    db.migrate()
    yield db
    db.dispose()
