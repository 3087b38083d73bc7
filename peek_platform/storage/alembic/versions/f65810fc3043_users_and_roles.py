"""Create the user, role, role_permission and user_role tables.

Revision ID: f65810fc3043
Revises: a1c0de5e7701
Create Date: 2025-06-01 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "f65810fc3043"
down_revision = "a1c0de5e7701"
branch_labels = None
depends_on = None

SCHEMA = "peek_platform"


def upgrade() -> None:
    """Create the local users, roles and their links in ``peek_platform``."""
    op.create_table(
        "user",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "role",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        schema=SCHEMA,
    )
    op.create_table(
        "role_permission",
        sa.Column(
            "role",
            sa.String(64),
            sa.ForeignKey(f"{SCHEMA}.role.name", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("permission", sa.String(200), primary_key=True),
        schema=SCHEMA,
    )
    op.create_table(
        "user_role",
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey(f"{SCHEMA}.user.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "role",
            sa.String(64),
            sa.ForeignKey(f"{SCHEMA}.role.name", ondelete="CASCADE"),
            primary_key=True,
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_peek_platform_user_role_role", "user_role", ["role"], schema=SCHEMA)


def downgrade() -> None:
    """Drop the tables in reverse order of their foreign keys."""
    op.drop_index("ix_peek_platform_user_role_role", table_name="user_role", schema=SCHEMA)
    op.drop_table("user_role", schema=SCHEMA)
    op.drop_table("role_permission", schema=SCHEMA)
    op.drop_table("role", schema=SCHEMA)
    op.drop_table("user", schema=SCHEMA)
