"""Fixtures: linked VortexFactories (shared helper from tests/vortex/rpc) and a Clock."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


def _loadLinkedVortexes():
    """Import tests/vortex/rpc/linkedvortexes.py once, under its own module name."""
    module = sys.modules.get("linkedvortexes")
    if module is None:
        path = Path(__file__).parents[1] / "rpc" / "linkedvortexes.py"
        spec = importlib.util.spec_from_file_location("linkedvortexes", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["linkedvortexes"] = module
        spec.loader.exec_module(module)
    return module


_links = _loadLinkedVortexes()


@pytest.fixture
def vortexes() -> Iterator:
    """Linked-factory builder, torn down after the test."""
    kit = _links.Vortexes()
    yield kit
    kit.shutdown()
