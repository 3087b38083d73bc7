"""Pytest fixtures for plugin projects: real PostgreSQL and Redis, and the plugin harness.

Enable them in your project's root ``conftest.py``::

    pytest_plugins = ["peek_platform.testing.pytest_plugin"]

Servers start once per test session, on first use; a missing server binary fails the
tests that need it, naming the package to install.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from peek_platform.process.context import ServiceContext
from peek_platform.services import ServiceSpec
from peek_platform.testing.PluginHarness import PluginHarness
from peek_platform.testing.ServiceBuilder import makeServiceContext, serviceSpec
from peek_plugin_base.testing.PostgreSQLTestServer import (
    PostgreSQLNotInstalled,
    PostgreSQLTestServer,
)
from peek_plugin_base.testing.ReactorWait import spinReactorUntil
from peek_plugin_base.testing.RedisTestServer import RedisNotInstalled, RedisTestServer
from peek_plugin_base.testing.SlapdTestServer import SlapdNotInstalled, SlapdTestServer
from peek_plugin_base.testing.TestCertificates import TestPki, makeTestPki
from peek_plugin_base.testing.ThreadReactor import ThreadReactor


def _runServer(make: Callable[[], Any], notInstalled: type[Exception]) -> Iterator[Any]:
    """Start ``make()``'s server, yield it, stop it; a missing binary fails the test."""
    try:
        server = make()
    except notInstalled as e:
        pytest.fail(str(e))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def peekPostgresServer() -> Iterator[PostgreSQLTestServer]:
    """One throwaway PostgreSQL server for the whole session."""
    yield from _runServer(PostgreSQLTestServer, PostgreSQLNotInstalled)


@pytest.fixture
def peekPostgresUrl(peekPostgresServer: PostgreSQLTestServer) -> str:
    """The SQLAlchemy URL of a new, empty database on the session's PostgreSQL server."""
    return peekPostgresServer.createDatabase()


@pytest.fixture(scope="session")
def peekRedisServer() -> Iterator[RedisTestServer]:
    """One throwaway redis-server (no persistence) for the whole session."""
    yield from _runServer(RedisTestServer, RedisNotInstalled)


@pytest.fixture
def peekRedisUrl(peekRedisServer: RedisTestServer) -> str:
    """The URL of database 0 on the session's Redis server, emptied for this test."""
    peekRedisServer.flush()
    return peekRedisServer.url(0)


@pytest.fixture
def peekPluginHarness(tmp_path: Path) -> Iterator[Callable[..., PluginHarness]]:
    """Factory ``peekPluginHarness(pluginName, service="logic", config=None, **kwargs)``.

    Each harness gets its own home under ``tmp_path`` and is closed (plugin stopped and
    unloaded, extensions stopped) after the test.
    """
    harnesses: list[PluginHarness] = []

    def make(
        pluginName: str,
        service: str | ServiceSpec = "logic",
        config: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PluginHarness:
        home = tmp_path / f"{serviceSpec(service).homeDirName}-{len(harnesses)}"
        harness = PluginHarness(service, pluginName, home, config, **kwargs)
        harnesses.append(harness)
        return harness

    yield make
    for harness in reversed(harnesses):
        harness.close()


@pytest.fixture
def peekServiceContext(tmp_path: Path) -> Callable[..., ServiceContext]:
    """Factory ``peekServiceContext(service, config=None, plugins=())``: a home under tmp."""

    def make(
        service: str | ServiceSpec, config: dict[str, Any] | None = None, plugins: Any = ()
    ) -> ServiceContext:
        home = tmp_path / serviceSpec(service).homeDirName
        return makeServiceContext(service, home, config, plugins=plugins)

    return make


@pytest.fixture
def peekSpin() -> Callable[..., None]:
    """``peekSpin(predicate, timeout=30)``: iterate the global reactor until it holds."""
    return spinReactorUntil


@pytest.fixture(scope="session")
def peekTestPki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """A throw-away CA with server (127.0.0.1, localhost) and client certificates."""
    return makeTestPki(tmp_path_factory.mktemp("peek-test-pki"))


@pytest.fixture
def peekThreadReactor() -> Iterator[ThreadReactor]:
    """A ``ThreadReactor`` for storage code (``DbConnection(reactor=...)``); stopped after."""
    reactor = ThreadReactor()
    yield reactor
    reactor.stop()


@pytest.fixture(scope="session")
def peekSlapd() -> Iterator[SlapdTestServer]:
    """One throwaway OpenLDAP slapd for the session; each test uses its own createSubtree()."""
    yield from _runServer(SlapdTestServer, SlapdNotInstalled)
