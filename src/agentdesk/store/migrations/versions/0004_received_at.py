"""When the central store received an identity decision: other desks pull what arrived since they last looked
(a server clock, so desks with skewed clocks miss nothing).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identity_decisions") as batch:
        batch.add_column(
            sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())
        )
        batch.create_index("ix_identity_decisions_received_at", ["received_at"])


def downgrade() -> None:
    with op.batch_alter_table("identity_decisions") as batch:
        batch.drop_index("ix_identity_decisions_received_at")
        batch.drop_column("received_at")
