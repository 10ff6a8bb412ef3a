"""The FHIR write-back queue: a booking becomes an Appointment, a referral a ServiceRequest, in every FHIR backend
with `write_back = true`, retried until the EHR has it (or refuses it); the resource id it returns is kept.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "fhir_writes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("outcome_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("backend", sa.String(100), nullable=False),
        sa.Column("disposition_id", sa.String(36), nullable=False),
        sa.Column("call_id", sa.String(200), nullable=False),
        sa.Column("patient_ref", sa.String(200), nullable=False, server_default=""),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", Timestamp, nullable=False),
        sa.Column("last_error", sa.String(300), nullable=False, server_default=""),
        sa.Column("resource_ref", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_fhir_writes"),
    )
    op.create_index("ix_fhir_writes_disposition_id", "fhir_writes", ["disposition_id"])
    op.create_index("ix_fhir_writes_outcome", "fhir_writes", ["outcome_id", "backend"], unique=True)
    op.create_index("ix_fhir_writes_due", "fhir_writes", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("fhir_writes")
