"""Roles kept by IT in the central store (agent_roles: OS login -> supervisor or admin), besides the machine-wide
config's [security] lists. Desks only read it; nobody's own file can write it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_roles",
        sa.Column("login", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("login", name="pk_agent_roles"),
    )


def downgrade() -> None:
    op.drop_table("agent_roles")
