"""Reserve blocks of primary-key ids before inserting, on PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Sequence, Table, text
from sqlalchemy.engine import Engine

from peek_plugin_base.storage.DbEngine import SQLITE_BEGIN_OPTION

#: SQLite table (in the main database file) holding the next free id of each table.
SQLITE_ALLOCATOR_TABLE = "peek_id_allocator"


def declarativeTable(Declarative: Any) -> Table:
    """The ``Table`` of an ORM class (or the table itself)."""
    table = getattr(Declarative, "__table__", Declarative)
    if not isinstance(table, Table):
        raise TypeError(f"{Declarative!r} is neither a declarative class nor a Table")
    return table


def _idColumn(table: Table) -> Any:
    columns = list(table.primary_key.columns)
    if len(columns) != 1 or not isinstance(columns[0].type, Integer):
        raise ValueError(
            f"table {table.fullname}: prefetchDeclarativeIds needs a single integer primary "
            f"key column, the table has {[c.name for c in columns]}"
        )
    return columns[0]


def prefetchIds(engine: Engine, Declarative: Any, count: int) -> list[int]:
    """Reserve ``count`` ids for ``Declarative``; blocking, unique across processes."""
    if count < 0:
        raise ValueError(f"prefetchDeclarativeIds: count must be >= 0, got {count}")
    table = declarativeTable(Declarative)
    column = _idColumn(table)
    if count == 0:
        return []
    if engine.dialect.name == "postgresql":
        return _prefetchPostgreSQL(engine, table, column, count)
    if engine.dialect.name == "sqlite":
        return _prefetchSqlite(engine, table, column, count)
    raise NotImplementedError(
        f"prefetchDeclarativeIds: dialect {engine.dialect.name!r} is not supported; "
        "Peek supports postgresql and sqlite"
    )


def _prefetchPostgreSQL(engine: Engine, table: Table, column: Any, count: int) -> list[int]:
    """Draw ``count`` values from the column's sequence in one round trip."""
    if isinstance(column.default, Sequence):
        schema = column.default.schema or table.schema
        sequence = f'"{schema}"."{column.default.name}"' if schema else f'"{column.default.name}"'
        sql = "SELECT nextval(CAST(:seq AS regclass)) FROM generate_series(1, :count)"
        params: dict[str, Any] = {"seq": sequence, "count": count}
    else:
        quoted = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
        sql = (
            "SELECT nextval(pg_get_serial_sequence(:table, :column)) "
            "FROM generate_series(1, :count)"
        )
        params = {"table": quoted, "column": column.name, "count": count}
    with engine.begin() as conn:
        ids = [row[0] for row in conn.execute(text(sql), params)]
    if any(i is None for i in ids):
        raise ValueError(
            f"table {table.fullname}: column {column.name} has no sequence "
            "(declare it Integer primary key, or give it a Sequence)"
        )
    return ids


def _prefetchSqlite(engine: Engine, table: Table, column: Any, count: int) -> list[int]:
    """Advance the table's allocator row atomically, never below the table's highest id."""
    quoted = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
    maxId = f'(SELECT COALESCE(MAX("{column.name}"), 0) + 1 FROM {quoted})'
    allocator = f'main."{SQLITE_ALLOCATOR_TABLE}"'
    with engine.connect().execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"}) as conn:
        with conn.begin():
            conn.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {allocator} "
                "(table_key TEXT PRIMARY KEY, next_id INTEGER NOT NULL)"
            )
            nextId = conn.execute(
                text(
                    f"INSERT INTO {allocator} (table_key, next_id) "
                    f"VALUES (:key, {maxId} + :count) ON CONFLICT (table_key) "
                    f"DO UPDATE SET next_id = MAX(next_id, {maxId}) + :count "
                    "RETURNING next_id"
                ),
                {"key": table.fullname, "count": count},
            ).scalar_one()
    return list(range(nextId - count, nextId))
