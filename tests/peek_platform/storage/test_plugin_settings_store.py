"""``PluginSettingsStore`` remembers values it read and forgets the one a write replaces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from peek_platform.storage.platform_schema import PLATFORM_ALEMBIC_DIR, platformMetadata
from peek_platform.storage.plugin_settings import PluginSettingsStore
from peek_plugin_base.settings.PluginSetting import PluginSetting
from peek_plugin_base.storage.DbConnection import DbConnection

STEP = PluginSetting("peek_plugin_x", "step", "int", 1, "How much.")
GREETING = PluginSetting("peek_plugin_x", "greeting", "str", "hello", "A word.")


@pytest.fixture
def platformDb(tmp_path: Path) -> Iterator[DbConnection]:
    """The platform schema on a fresh embedded SQLite, migrated (usable from this thread)."""
    db = DbConnection(
        f"sqlite:///{tmp_path / 'peek.sqlite'}",
        platformMetadata,
        str(PLATFORM_ALEMBIC_DIR),
        enableCreateAll=False,
        isReactorThread=lambda: False,
    )
    db.migrate()
    yield db
    db.dispose()


def test_reads_are_remembered_and_a_write_is_seen_by_the_next_read(platformDb):
    """The second read of a setting runs no query; after a write the next read returns the
    new value (one query), and other settings stay remembered."""
    store = PluginSettingsStore(platformDb)
    queries: list[str] = []
    event.listen(
        platformDb.dbEngine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *rest: queries.append(statement),
    )

    def selects() -> int:
        return sum(1 for q in queries if q.lstrip().upper().startswith("SELECT"))

    assert store.read(STEP).value == 1
    assert store.read(GREETING).value == "hello"
    assert selects() == 2
    assert [store.read(STEP).value for _ in range(5)] == [1] * 5
    assert selects() == 2

    store.write(STEP, 4)
    value = store.read(STEP)
    assert (value.value, value.isDefault) == (4, False)
    assert selects() == 3
    assert store.read(STEP).value == 4
    assert store.read(GREETING).value == "hello"
    assert selects() == 3
    assert PluginSettingsStore(platformDb).read(STEP).value == 4
