"""Dialect-aware SQL helpers for large ``IN`` lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import column as sqlColumn
from sqlalchemy import false, select, values
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session


def makeCoreValuesSubqueryCondition(
    engine: Engine | Connection, column: Any, values_: Sequence[int | str]
) -> Any:
    """``column`` matches one of ``values_``: a VALUES subquery on PostgreSQL, else ``IN``.

    PostgreSQL plans ``col IN (SELECT v FROM (VALUES ...))`` as a hash join, which is far
    faster than a long ``IN`` list for thousands of values.
    """
    if not values_:
        return false()
    if engine.dialect.name != "postgresql":
        return column.in_(list(values_))
    valuesClause = values(sqlColumn("v", column.type), name="peek_values").data(
        [(value,) for value in values_]
    )
    return column.in_(select(valuesClause.c.v))


def makeOrmValuesSubqueryCondition(
    ormSession: Session, column: Any, values_: Sequence[int | str]
) -> Any:
    """Like :func:`makeCoreValuesSubqueryCondition`, taking the dialect from ``ormSession``."""
    return makeCoreValuesSubqueryCondition(ormSession.get_bind(), column, values_)
