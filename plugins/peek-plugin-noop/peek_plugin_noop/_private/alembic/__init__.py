"""Alembic migrations of the noop plugin's schema (``storage.alembicDir``)."""
