"""Fixtures of the metrics tests: linked vortexes (shared helper) and a threaded HTTP GET.

The vortex helper is tests/vortex/rpc/linkedvortexes.py, loaded once under its own name as
tests/vortex/handler does. ``httpGet`` runs a blocking request on a thread while the test
turns the global reactor, so in-process sites answer real sockets.
"""

from __future__ import annotations

import http.client
import importlib.util
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from peek_plugin_base.testing.ReactorWait import spinReactorUntil


def _loadLinkedVortexes() -> Any:
    """Import tests/vortex/rpc/linkedvortexes.py once, under its own module name."""
    module = sys.modules.get("linkedvortexes")
    if module is None:
        path = Path(__file__).parents[2] / "vortex" / "rpc" / "linkedvortexes.py"
        spec = importlib.util.spec_from_file_location("linkedvortexes", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["linkedvortexes"] = module
        spec.loader.exec_module(module)
    return module


links = _loadLinkedVortexes()


@pytest.fixture
def vortexes() -> Iterator[Any]:
    """Linked-factory builder, torn down after the test."""
    kit = links.Vortexes()
    yield kit
    kit.shutdown()


@dataclass(frozen=True)
class Response:
    """One HTTP answer: status, headers (lower-case names) and body text."""

    status: int
    headers: dict[str, str]
    text: str


def get(
    host: str,
    port: int,
    path: str = "/metrics",
    *,
    headers: Mapping[str, str] | None = None,
    sourceAddress: str | None = None,
) -> Response:
    """GET ``path`` from ``host:port`` (from ``sourceAddress`` when given) on a thread,
    turning the reactor until it is answered."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            source = (sourceAddress, 0) if sourceAddress else None
            connection = http.client.HTTPConnection(host, port, timeout=10, source_address=source)
            connection.request("GET", path, headers=dict(headers or {}))
            answer = connection.getresponse()
            outcome.append(
                Response(
                    answer.status,
                    {k.lower(): v for k, v in answer.getheaders()},
                    answer.read().decode("utf-8"),
                )
            )
            connection.close()
        except Exception as e:
            outcome.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    spinReactorUntil(lambda: bool(outcome), timeout=15)
    thread.join()
    if isinstance(outcome[0], Exception):
        raise outcome[0]
    return outcome[0]


@pytest.fixture
def httpGet() -> Callable[..., Response]:
    """``httpGet(host, port, path="/metrics", headers=, sourceAddress=)``: a ``Response``."""
    return get
