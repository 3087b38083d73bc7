"""Column types that map to the right binary type on each supported dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator


class PeekLargeBinary(TypeDecorator):
    """Large binary: ``BYTEA`` on PostgreSQL, ``BLOB`` on SQLite, ``VARBINARY(max)`` on MSSQL."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        """Pick the unbounded binary type of ``dialect``."""
        if dialect.name == "mssql":
            from sqlalchemy.dialects.mssql import VARBINARY

            return dialect.type_descriptor(VARBINARY("max"))
        return dialect.type_descriptor(LargeBinary())
