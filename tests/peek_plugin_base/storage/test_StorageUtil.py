"""StorageUtil and TypeDecorators: value-list conditions and large binaries on both dialects."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from peek_plugin_base.storage.DbEngine import createDbEngine
from peek_plugin_base.storage.StorageUtil import (
    makeCoreValuesSubqueryCondition,
    makeOrmValuesSubqueryCondition,
)
from peek_plugin_base.storage.TypeDecorators import PeekLargeBinary

metadata = sa.MetaData(schema="pl_util")
thing = sa.Table(
    "thing",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(20)),
    sa.Column("blob", PeekLargeBinary),
)


def makeEngine(dbUrl: str) -> sa.Engine:
    engine = createDbEngine(dbUrl, attachSchemas=["pl_util"])
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("CREATE SCHEMA pl_util"))
        metadata.create_all(conn)
        conn.execute(thing.insert(), [{"key": f"k{i}", "blob": bytes([i]) * 3} for i in range(5)])
    return engine


def test_coreValuesConditionSelectsValues(dbUrl):
    """The core condition matches exactly the listed values, with a VALUES list on PostgreSQL."""
    engine = makeEngine(dbUrl)
    condition = makeCoreValuesSubqueryCondition(engine, thing.c.key, ["k1", "k3", "nope"])
    sql = str(condition.compile(dialect=engine.dialect))
    assert ("VALUES" in sql) == (engine.dialect.name == "postgresql")
    with engine.connect() as conn:
        keys = set(conn.execute(sa.select(thing.c.key).where(condition)).scalars())
    assert keys == {"k1", "k3"}
    engine.dispose()


def test_ormValuesConditionUsesSessionDialect(dbUrl):
    """The ORM condition takes the dialect from the session and matches the listed ids."""
    engine = makeEngine(dbUrl)
    with Session(engine) as session:
        condition = makeOrmValuesSubqueryCondition(session, thing.c.id, [1, 2])
        ids = set(session.execute(sa.select(thing.c.id).where(condition)).scalars())
    assert ids == {1, 2}
    engine.dispose()


def test_emptyValuesMatchNothing(dbUrl):
    """An empty value list is a condition that matches no row."""
    engine = makeEngine(dbUrl)
    condition = makeCoreValuesSubqueryCondition(engine, thing.c.id, [])
    with engine.connect() as conn:
        assert conn.execute(sa.select(thing.c.id).where(condition)).all() == []
    engine.dispose()


def test_largeBinaryRoundTrips(dbUrl):
    """PeekLargeBinary stores and returns bytes unchanged."""
    engine = makeEngine(dbUrl)
    with engine.connect() as conn:
        blob = conn.execute(sa.select(thing.c.blob).where(thing.c.key == "k2")).scalar_one()
    assert blob == b"\x02\x02\x02"
    engine.dispose()
