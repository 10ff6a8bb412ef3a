"""Initial schema: dispositions, call events, agent states, audit events.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dispositions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("call_id", sa.String(200), nullable=False),
        sa.Column("agent_id", sa.String(100), nullable=False),
        sa.Column("campaign_code", sa.String(64), nullable=False, server_default=""),
        sa.Column("disposition_code", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("patient_key", sa.String(500), nullable=False, server_default=""),
        sa.Column("offered_at", Timestamp, nullable=True),
        sa.Column("answered_at", Timestamp, nullable=True),
        sa.Column("ended_at", Timestamp, nullable=True),
        sa.Column("wrapup_done_at", Timestamp, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("synced_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dispositions"),
    )
    op.create_index("ix_dispositions_call_id", "dispositions", ["call_id"])
    op.create_index("ix_dispositions_synced_at", "dispositions", ["synced_at"])
    op.create_table(
        "call_events",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("occurred_at", Timestamp, nullable=False),
        sa.Column("recorded_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_call_events"),
    )
    op.create_index("ix_call_events_call_id", "call_events", ["call_id"])
    op.create_table(
        "agent_states",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.String(100), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False, server_default=""),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("ended_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_agent_states"),
    )
    op.create_index("ix_agent_states_agent_id", "agent_states", ["agent_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.String(100), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("patient_key", sa.String(500), nullable=False),
        sa.Column("call_id", sa.String(200), nullable=False, server_default=""),
        sa.Column("at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_agent_id", "audit_events", ["agent_id"])


def downgrade() -> None:
    for table in ("audit_events", "agent_states", "call_events", "dispositions"):
        op.drop_table(table)
