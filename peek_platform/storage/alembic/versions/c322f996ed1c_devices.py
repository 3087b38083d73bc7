"""Create the device table: browsers enrolled on the field and office sites.

Revision ID: c322f996ed1c
Revises: f65810fc3043
Create Date: 2025-07-01 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c322f996ed1c"
down_revision = "f65810fc3043"
branch_labels = None
depends_on = None

SCHEMA = "peek_platform"


def upgrade() -> None:
    """Create ``peek_platform.device``; a device is found by its token's hash."""
    op.create_table(
        "device",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("site", sa.String(32), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("description", sa.String(200), nullable=False, server_default=""),
        sa.Column("last_user_id", sa.String(300), nullable=True),
        sa.Column("last_user_name", sa.String(256), nullable=True),
        sa.Column("enrolled", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    """Drop ``peek_platform.device``."""
    op.drop_table("device", schema=SCHEMA)
