"""On PostgreSQL, changes to call events, agent states and dispositions NOTIFY the team monitor (channel
'agentdesk_changes'): one notification per changing statement (PostgreSQL folds repeats within a transaction),
so a state change reaches the monitor without polling. Dispositions are found by wrap-up time (metrics).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
NOTIFYING = ("call_events", "agent_states", "dispositions")


def upgrade() -> None:
    # Metrics find dispositions by when their wrap-up was done.
    op.create_index("ix_dispositions_wrapup_done_at", "dispositions", ["wrapup_done_at"])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION agentdesk_notify_change() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_notify('agentdesk_changes', TG_TABLE_NAME); RETURN NULL; END $$"
    )
    for table in NOTIFYING:
        op.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION agentdesk_notify_change()"
        )


def downgrade() -> None:
    op.drop_index("ix_dispositions_wrapup_done_at", table_name="dispositions")
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in NOTIFYING:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.execute("DROP FUNCTION IF EXISTS agentdesk_notify_change()")
