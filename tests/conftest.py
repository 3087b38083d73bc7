"""Fixtures shared by the whole suite: the shipped pytest plugin and a leak check."""

import pytest

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
