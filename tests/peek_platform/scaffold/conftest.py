"""Fixtures for the scaffolding tests: the noop plugin of this checkout is the template, and
Peek service commands run as real processes for the generated plugin."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from peek_platform.services import ServiceSpec
from peek_platform.testing.ServiceProcess import ServiceProcess
from peek_plugin_base.testing.FreePort import freeTcpPort

#: The noop plugin project in this repository.
NOOP_PROJECT_DIR = Path(__file__).resolve().parents[3] / "plugins" / "peek-plugin-noop"


@pytest.fixture
def noopProjectDir() -> Path:
    """The noop plugin project directory of this checkout."""
    return NOOP_PROJECT_DIR


@pytest.fixture
def noopOnPath(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put the noop project first on sys.path, so the template is this checkout's plugin."""
    monkeypatch.syspath_prepend(str(NOOP_PROJECT_DIR))
    return NOOP_PROJECT_DIR / "peek_plugin_noop"


@pytest.fixture
def startService() -> Iterator[Callable[[ServiceSpec, Path, dict[str, str]], ServiceProcess]]:
    """``startService(spec, home, env)`` runs a service command; all are stopped at teardown."""
    started: list[ServiceProcess] = []

    def start(spec: ServiceSpec, home: Path, env: dict[str, str]) -> ServiceProcess:
        service = ServiceProcess.forService(spec, env, home=home)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def freePort() -> Callable[[], int]:
    """``freePort()``: a TCP port on 127.0.0.1 that was free a moment ago."""
    return freeTcpPort
