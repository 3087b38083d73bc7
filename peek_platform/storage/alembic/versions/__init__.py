"""Revisions of the ``peek_platform`` schema."""
