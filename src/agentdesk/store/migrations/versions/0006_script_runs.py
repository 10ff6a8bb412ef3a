"""Script runs: which script version guided each call, every step reached and answer given, off-script notes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "script_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("call_id", sa.String(200), nullable=False),
        sa.Column("agent_id", sa.String(100), nullable=False),
        sa.Column("campaign_code", sa.String(64), nullable=False),
        sa.Column("script_id", sa.String(64), nullable=False),
        sa.Column("script_version", sa.Integer, nullable=False),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("stored_at", Timestamp, nullable=False),
        sa.Column("last_step", sa.String(64), nullable=False),
        sa.Column("finished", sa.Boolean, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("suggested_disposition", sa.String(64), nullable=False, server_default=""),
        sa.Column("disposition_code", sa.String(64), nullable=False, server_default=""),
        sa.Column("outcome", sa.String(32), nullable=False, server_default=""),
        sa.Column("synced_at", Timestamp, nullable=True),
    )
    op.create_index("ix_script_runs_call_id", "script_runs", ["call_id"])
    op.create_index("ix_script_runs_synced_at", "script_runs", ["synced_at"])
    op.create_index("ix_script_runs_script", "script_runs", ["script_id", "script_version", "started_at"])
    op.create_table(
        "script_run_events",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("step_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("value", sa.Text, nullable=False, server_default=""),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("synced_at", Timestamp, nullable=True),
    )
    op.create_index("ix_script_run_events_run_id", "script_run_events", ["run_id"])
    op.create_index("ix_script_run_events_synced_at", "script_run_events", ["synced_at"])


def downgrade() -> None:
    op.drop_table("script_run_events")
    op.drop_table("script_runs")
