"""Agents' identity decisions: two source records are (or are not) the same person.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_decisions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("left_ref", sa.String(250), nullable=False),
        sa.Column("right_ref", sa.String(250), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.String(100), nullable=False),
        sa.Column("call_id", sa.String(200), nullable=False, server_default=""),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_identity_decisions"),
    )
    op.create_index("ix_identity_decisions_pair", "identity_decisions", ["left_ref", "right_ref"])


def downgrade() -> None:
    op.drop_table("identity_decisions")
