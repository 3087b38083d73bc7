"""Alembic migrations of the ``peek_platform`` schema."""
