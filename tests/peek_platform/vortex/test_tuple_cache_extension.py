"""TupleCacheExtension: opens ``<home>/tuple_cache.sqlite`` for the vortex factory's proxies,
and ``tupleCache.maxMegabytes`` 0 turns it off."""

from __future__ import annotations

from pathlib import Path

from twisted.internet.testing import MemoryReactorClock

from peek_platform.config.keys import configKeyByPath
from peek_platform.process.context import ServiceContext
from peek_platform.services import FIELD
from peek_platform.vortex.tuple_cache import (
    MAX_MEGABYTES_KEY,
    TUPLE_CACHE_FILE_NAME,
    TupleCacheExtension,
)
from vortex.VortexFactory import VortexFactory


def _context(home: Path, megabytes: float) -> ServiceContext:
    return ServiceContext(
        spec=FIELD, home=home, config={MAX_MEGABYTES_KEY: megabytes}, reactor=MemoryReactorClock()
    )


def test_store_opened_in_home_and_given_to_the_factory(tmp_path: Path) -> None:
    """With a size, the store is the factory's ``tupleStore`` in the home, bounded by the
    setting, and stopping closes it and takes it back."""
    factory = VortexFactory("peek-field-service", reactor=MemoryReactorClock())
    extension = TupleCacheExtension(vortexFactory=lambda: factory)
    ctx = _context(tmp_path, 2)
    extension.startBeforePlugins(ctx)
    store = factory.tupleStore
    assert store is not None and store is extension.store
    assert store.path == tmp_path / TUPLE_CACHE_FILE_NAME and store.path.exists()
    assert store.maxBytes == 2 * 1024 * 1024
    extension.stopAfterPlugins(ctx)
    assert factory.tupleStore is None and extension.store is None


def test_zero_megabytes_turns_the_disk_cache_off(tmp_path: Path) -> None:
    """``tupleCache.maxMegabytes`` 0: no store, no file; proxies keep memory only."""
    factory = VortexFactory("peek-field-service", reactor=MemoryReactorClock())
    extension = TupleCacheExtension(vortexFactory=lambda: factory)
    ctx = _context(tmp_path, 0)
    extension.startBeforePlugins(ctx)
    assert factory.tupleStore is None
    assert not (tmp_path / TUPLE_CACHE_FILE_NAME).exists()
    extension.stopAfterPlugins(ctx)


def test_setting_is_read_by_field_and_office_only() -> None:
    """The size key belongs to the services that run observable proxies for devices."""
    assert configKeyByPath(MAX_MEGABYTES_KEY).services == frozenset({"field", "office"})
