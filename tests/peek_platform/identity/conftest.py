"""Fixtures for the identity tests: a migrated platform schema on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from peek_platform.identity.store import IdentityStore
from peek_platform.storage.platform_schema import (
    PLATFORM_ALEMBIC_DIR,
    platformMetadata,
)
from peek_plugin_base.storage.DbConnection import DbConnection


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
