"""Create the plugin install record: each plugin's data version and the hooks that ran.

Revision ID: b7d3e81f4a26
Revises: c322f996ed1c
Create Date: 2025-07-15 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b7d3e81f4a26"
down_revision = "c322f996ed1c"
branch_labels = None
depends_on = None

SCHEMA = "peek_platform"


def upgrade() -> None:
    """Create ``peek_platform.plugin_install`` and ``peek_platform.plugin_install_step``."""
    op.create_table(
        "plugin_install",
        sa.Column("plugin_name", sa.String(100), primary_key=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("installed", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "plugin_install_step",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("plugin_name", sa.String(100), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("from_version", sa.String(64), nullable=True),
        sa.Column("to_version", sa.String(64), nullable=True),
        sa.Column("done", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_peek_platform_plugin_install_step_plugin_name",
        "plugin_install_step",
        ["plugin_name"],
        schema=SCHEMA,
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("plugin_install_step", schema=SCHEMA)
    op.drop_table("plugin_install", schema=SCHEMA)
