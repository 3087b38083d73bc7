"""Create the chunked index queue and compiled chunks (bulk data sync).

Revision ID: e2b9c4d7a810
Revises: b7d3e81f4a26
Create Date: 2026-12-03 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e2b9c4d7a810"
down_revision = "b7d3e81f4a26"
branch_labels = None
depends_on = None

SCHEMA = "peek_platform"


def upgrade() -> None:
    """Create ``peek_platform.bulk_queue`` and ``peek_platform.bulk_chunk``."""
    op.create_table(
        "bulk_queue",
        sa.Column("plugin_name", sa.String(100), primary_key=True),
        sa.Column("index_name", sa.String(100), primary_key=True),
        sa.Column("row_key", sa.String(1000), primary_key=True),
        sa.Column("bucket", sa.String(100), nullable=False),
        sa.Column("row_json", sa.Text, nullable=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "bulk_chunk",
        sa.Column("plugin_name", sa.String(100), primary_key=True),
        sa.Column("index_name", sa.String(100), primary_key=True),
        sa.Column("bucket", sa.String(100), primary_key=True),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("row_count", sa.Integer, nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("bulk_chunk", schema=SCHEMA)
    op.drop_table("bulk_queue", schema=SCHEMA)
