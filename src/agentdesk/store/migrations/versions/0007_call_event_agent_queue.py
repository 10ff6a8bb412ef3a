"""Call events name the agent whose desk saw them and the queue the call came through (metrics per agent and
per queue), and are found by time (every metric reads a time range); agent states are found by agent and time
(the monitor's grid reads each agent's latest state).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_events") as batch:
        batch.add_column(sa.Column("agent_id", sa.String(100), nullable=False, server_default=""))
        batch.add_column(sa.Column("queue", sa.String(100), nullable=False, server_default=""))
        batch.create_index("ix_call_events_occurred_at", ["occurred_at"])
    op.create_index("ix_agent_states_agent_started", "agent_states", ["agent_id", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_agent_states_agent_started", table_name="agent_states")
    with op.batch_alter_table("call_events") as batch:
        batch.drop_index("ix_call_events_occurred_at")
        batch.drop_column("queue")
        batch.drop_column("agent_id")
