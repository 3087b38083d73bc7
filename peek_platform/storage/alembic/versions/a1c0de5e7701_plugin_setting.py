"""Create the plugin_setting table.

Revision ID: a1c0de5e7701
Revises:
Create Date: 2025-01-01 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a1c0de5e7701"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``peek_platform.plugin_setting``."""
    op.create_table(
        "plugin_setting",
        sa.Column("plugin_name", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value_json", sa.Text, nullable=False),
        schema="peek_platform",
    )


def downgrade() -> None:
    """Drop ``peek_platform.plugin_setting``."""
    op.drop_table("plugin_setting", schema="peek_platform")
