"""Fixtures shared by the whole suite: the shipped pytest plugin and a leak check."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from twisted.python.threadpool import ThreadPool

from peek_platform.storage.platform_schema import PLATFORM_ALEMBIC_DIR, platformMetadata
from peek_plugin_base.storage.DbConnection import DbConnection
from vortex.VortexFactory import NoVortexException, VortexFactory

pytest_plugins = ["peek_platform.testing.pytest_plugin"]


@pytest.fixture(autouse=True)
def noDefaultVortexLeaks():
    """Fail the test that leaves a process-wide default vortex behind (none may leak)."""
    yield
    try:
        leaked = VortexFactory.default()
    except NoVortexException:
        return
    pytest.fail(f"the test left {leaked.vortexName!r} as the default vortex factory")


@pytest.fixture
def sqlitePlatformDb(tmp_path: Path) -> Iterator[DbConnection]:
    """A fresh SQLite platform schema, migrated; disposed after the test."""
    db = DbConnection(
        f"sqlite:///{tmp_path / 'peek.sqlite'}",
        platformMetadata,
        str(PLATFORM_ALEMBIC_DIR),
        enableCreateAll=False,
    )
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def reactorThreads() -> Iterator[ThreadPool]:
    """Start the global reactor's thread pool, for tests that only iterate the reactor.

    A stopped pool cannot start again, so the reactor is left to make a new one next time.
    """
    from twisted.internet import reactor

    pool = reactor.getThreadPool()  # type: ignore[attr-defined]
    pool.start()
    yield pool
    pool.stop()
    reactor.threadpool = None  # type: ignore[attr-defined]
