"""Fixtures for the logic status tests: service contexts in a temp home."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from peek_platform.process.context import ServiceContext


@pytest.fixture
def makeCtx(peekServiceContext: Callable[..., ServiceContext]) -> Callable[..., ServiceContext]:
    """``makeCtx(spec, plugins=("peek_plugin_a",), **dataExchange)``: a context in a tmp home."""
    return lambda spec, plugins=("peek_plugin_a",), **dataExchange: peekServiceContext(
        spec, {"dataExchange": dataExchange}, plugins
    )
