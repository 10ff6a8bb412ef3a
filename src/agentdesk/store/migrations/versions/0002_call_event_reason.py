"""Call events keep why a call ended (hung up, abandoned, answered elsewhere, ring timeout, transferred) and the
caller-side numbers' campaign, for the metrics.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_events") as batch:
        batch.add_column(sa.Column("reason", sa.String(32), nullable=False, server_default=""))
        batch.add_column(sa.Column("campaign_code", sa.String(64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("call_events") as batch:
        batch.drop_column("campaign_code")
        batch.drop_column("reason")
