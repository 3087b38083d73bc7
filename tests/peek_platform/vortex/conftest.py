"""Fixtures for the service vortex tests: service contexts in a temp home, a PKI."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from peek_platform.process.context import ServiceContext
from peek_plugin_base.testing.TestCertificates import TestPki


@pytest.fixture
def makeCtx(peekServiceContext: Callable[..., ServiceContext]) -> Callable[..., ServiceContext]:
    """``makeCtx(spec, plugins=("peek_plugin_a",), **dataExchange)``: a context in a tmp home."""
    return lambda spec, plugins=("peek_plugin_a",), **dataExchange: peekServiceContext(
        spec, {"dataExchange": dataExchange}, plugins
    )


@pytest.fixture(scope="session")
def pki(peekTestPki: TestPki) -> TestPki:
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    return peekTestPki
