"""Fixtures: VortexFactories of one process linked over real loopback websockets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from linkedvortexes import AGENT, LOGIC, Vortexes, spinUntil

from vortex.VortexFactory import VortexFactory


@pytest.fixture
def vortexes() -> Iterator[Vortexes]:
    """Linked-factory builder, torn down after the test."""
    kit = Vortexes()
    yield kit
    kit.shutdown()


@pytest.fixture
def logicAgent(vortexes: Vortexes) -> tuple[VortexFactory, VortexFactory]:
    """A logic server and an agent linked to it."""
    logic = vortexes.server(LOGIC)
    agent = vortexes.client(AGENT, LOGIC)
    spinUntil(lambda: logic.isVortexNameConnected(AGENT))
    return logic, agent
