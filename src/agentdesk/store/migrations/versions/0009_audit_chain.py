"""Audit rows chained per workstation: each carries its sequence number, the hash of the previous row and its
own hash (SHA-256 over its content and that link), so a deleted, edited or reordered row shows; the store's
workstation id names the chain.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("workstation", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("seq", sa.Integer, nullable=True))  # NULL: a row from before the chain
        batch.add_column(sa.Column("detail", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=False, server_default=""))
        batch.create_index("ix_audit_events_chain", ["workstation", "seq"], unique=True)
        batch.create_index("ix_audit_events_patient_key", ["patient_key"])
    op.create_table(
        "workstation",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workstation"),
    )


def downgrade() -> None:
    op.drop_table("workstation")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_index("ix_audit_events_patient_key")
        batch.drop_index("ix_audit_events_chain")
        for column in ("hash", "prev_hash", "detail", "seq", "workstation"):
            batch.drop_column(column)
