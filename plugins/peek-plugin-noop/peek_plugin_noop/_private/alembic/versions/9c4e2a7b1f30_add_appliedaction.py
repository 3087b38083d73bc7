"""Add AppliedAction: the uuid of each applied action, so a repeat is not applied again

Revision ID: 9c4e2a7b1f30
Revises: 75c30e90d547
Create Date: 2026-12-03 17:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "9c4e2a7b1f30"
down_revision = "75c30e90d547"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "AppliedAction",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=100), nullable=False),
        sa.Column("appliedAt", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema="pl_noop",
    )
    with op.batch_alter_table("AppliedAction", schema="pl_noop") as batch_op:
        batch_op.create_index("idx_AppliedAction_uuid", ["uuid"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("AppliedAction", schema="pl_noop") as batch_op:
        batch_op.drop_index("idx_AppliedAction_uuid")
    op.drop_table("AppliedAction", schema="pl_noop")
