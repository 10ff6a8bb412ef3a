"""The FHIR references the write-back got (fhir_references): one row per booking or referral and backend, made on
the desk when the EHR answered and sent by the outbox, so the central copy of a booking or referral learns which
Appointment or ServiceRequest was made of it (store/central.py applies each to the row's `external_id`, whichever
of the two arrives first).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "fhir_references",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("outcome_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("backend", sa.String(100), nullable=False),
        sa.Column("resource_ref", sa.String(200), nullable=False),
        sa.Column("written_at", Timestamp, nullable=False),
        sa.Column("synced_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_fhir_references"),
    )
    op.create_index("ix_fhir_references_outcome_id", "fhir_references", ["outcome_id"])
    op.create_index("ix_fhir_references_synced_at", "fhir_references", ["synced_at"])


def downgrade() -> None:
    op.drop_table("fhir_references")
