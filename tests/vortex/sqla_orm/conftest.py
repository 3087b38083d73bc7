"""Fixtures: linked VortexFactories, the reactor pool, a CRUD client, SQLite and PostgreSQL."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ormcrudclient import CRUD_FILT, CrudClient
from ormcrudmodels import SCHEMA, OrmCrudTestBase
from twisted.internet import reactor
from twisted.python.threadpool import ThreadPool

from peek_plugin_base.storage.AlembicEnvBase import ensureSchemaExists
from peek_plugin_base.storage.DbConnection import DbConnection
from vortex.handler.MessageUtil import isInReactorThread
from vortex.VortexFactory import VortexFactory


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


links = _loadLinkedVortexes()


@pytest.fixture
def vortexes() -> Iterator[Any]:
    """Linked-factory builder, torn down after the test."""
    kit = links.Vortexes()
    yield kit
    kit.shutdown()


@pytest.fixture
def reactorThreads(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadPool]:
    """A fresh running thread pool as the global reactor's pool (a stopped one cannot restart)."""
    pool = ThreadPool(minthreads=0, maxthreads=4, name="tests-ormcrud")
    pool.start()
    monkeypatch.setattr(reactor, "threadpool", pool)
    yield pool
    pool.stop()


@pytest.fixture
def logicAgent(vortexes: Any, reactorThreads: Any) -> tuple[VortexFactory, VortexFactory]:
    """A logic server and an agent linked to it, with the reactor's thread pool running."""
    logic = vortexes.server(links.LOGIC)
    agent = vortexes.client(links.AGENT, links.LOGIC)
    links.spinUntil(lambda: logic.isVortexNameConnected(links.AGENT))
    return logic, agent


@pytest.fixture
def crudClient(logicAgent: tuple[VortexFactory, VortexFactory]) -> Iterator[CrudClient]:
    """A CRUD client on the agent, addressing CRUD_FILT on logic."""
    client = CrudClient(logicAgent[1], links.LOGIC, CRUD_FILT)
    yield client
    client.shutdown()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DbConnection]:
    """The test tables in a fresh SQLite file or PostgreSQL database.

    Its sessions refuse the reactor (main) thread, as in a running service.
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db' / 'peek.sqlite'}"
    else:
        url = request.getfixturevalue("peekPostgresUrl")
    connection = DbConnection(
        url,
        OrmCrudTestBase.metadata,
        str(tmp_path / "alembic"),
        isReactorThread=isInReactorThread,
    )
    with connection.dbEngine.begin() as conn:
        ensureSchemaExists(conn, SCHEMA)
        OrmCrudTestBase.metadata.create_all(conn)
    yield connection
    connection.dispose()


def tableRows(connection: DbConnection, table: str) -> list[tuple]:
    """Every row of a test table ordered by id, read with a plain engine connection."""
    with connection.dbEngine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                sa.select(OrmCrudTestBase.metadata.tables[f"{SCHEMA}.{table}"]).order_by("id")
            )
        ]


@pytest.fixture
def rows() -> Any:
    """The ``tableRows(db, tableName)`` helper."""
    return tableRows
