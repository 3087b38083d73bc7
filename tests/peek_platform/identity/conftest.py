"""Fixtures for the identity tests: a migrated platform schema on SQLite and PostgreSQL,
and extensions started on the real reactor (for services linked over a real data exchange)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from twisted.python.threadpool import ThreadPool

from peek_platform.identity.store import IdentityStore
from peek_platform.storage.platform_schema import (
    PLATFORM_ALEMBIC_DIR,
    platformMetadata,
)
from peek_platform.testing.PluginHarness import PooledReactor
from peek_plugin_base.storage.DbConnection import DbConnection
from peek_plugin_base.testing.ReactorWait import waitForDeferred


@pytest.fixture
def fastHasher() -> PasswordHasher:
    """Argon2id with tiny costs, so the many hashes of these tests stay quick."""
    return PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def platformDb(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DbConnection]:
    """The platform schema migrated to head on a fresh SQLite file or PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'home' / 'peek.sqlite'}"
    else:
        url = request.getfixturevalue("peekPostgresUrl")
    db = DbConnection(url, platformMetadata, str(PLATFORM_ALEMBIC_DIR), enableCreateAll=False)
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def store(platformDb: DbConnection, fastHasher: PasswordHasher) -> IdentityStore:
    """An identity store on ``platformDb`` hashing with ``fastHasher``."""
    return IdentityStore(platformDb.dbEngine, hasher=fastHasher)


@pytest.fixture
def pooledReactor():
    """The global reactor with a running thread pool of its own (no reactor.run here)."""
    from twisted.internet import reactor

    pool = ThreadPool(minthreads=0, maxthreads=4, name="identity-tests")
    pool.start()
    yield PooledReactor(reactor, pool)
    pool.stop()


@pytest.fixture
def started(peekServiceContext, pooledReactor, peekSpin):
    """``start(spec, extensions, config)``: configure and start extensions; stopped after."""
    running = []

    def start(spec, extensions, config):
        ctx = peekServiceContext(spec, config)
        ctx.reactor = pooledReactor
        for extension in extensions:
            ctx.config = extension.configure(ctx)
        for extension in extensions:
            d = extension.startBeforePlugins(ctx)
            if d is not None:
                waitForDeferred(d)
        for extension in extensions:
            extension.startAfterPlugins(ctx)
        running.append((ctx, extensions))
        return ctx

    yield start
    for ctx, extensions in reversed(running):
        for extension in reversed(extensions):
            d = extension.stopAfterPlugins(ctx)
            if d is not None:
                waitForDeferred(d)
