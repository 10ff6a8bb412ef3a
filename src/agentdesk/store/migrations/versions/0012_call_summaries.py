"""One summary row per call (call_summaries) for the team monitor and `agentdesk metrics`, and the queue of calls
whose summary is out of date (call_summary_changes).

Triggers on call_events, dispositions, bookings and referrals put a changed call's id in the queue in the writing
transaction, whoever writes (a desk's store, the outbox push, a bulk load); metrics/summaries.py recomputes the
queued calls' summaries from their facts before it reads, so the figures always equal a computation from the
facts themselves. The queue has no unique key (two desks logging the same ring-all call never wait on each other
or deadlock); a trigger only skips ids already queued. The same trigger SQL runs on SQLite and PostgreSQL.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)
ROLLUP_COUNTS = ("offered", "answered", "abandoned", "handled", "handle_calls", "bookings", "referrals", "converted")
ROLLUP_SECONDS = ("wait_total_s", "hold_total_s", "handle_total_s")
AGENT_COUNTS = ("handled", "bookings", "referrals")


# On SQLite (one writer at a time) a call already queued is not queued again, which keeps a desk's queue as small
# as its number of changed calls. On PostgreSQL every change queues its call: a check for an existing entry could
# see one that a reader is about to consume without this change (metrics/summaries.py consumes exactly the
# entries it read, so an entry added later always survives).
def _mark(call: str, guarded: bool) -> str:
    queued = f"SELECT 1 FROM call_summary_changes c WHERE c.call_id = {call}"  # noqa: S608 (fixed names only)
    guard = f" WHERE NOT EXISTS ({queued})" if guarded else ""
    return f"INSERT INTO call_summary_changes (call_id) SELECT {call}{guard}"


def _mark_detail(row: str, guarded: bool) -> str:
    """Detail rows (bookings, referrals) change their disposition's call."""
    guard = " AND NOT EXISTS (SELECT 1 FROM call_summary_changes c WHERE c.call_id = d.call_id)" if guarded else ""
    return (
        "INSERT INTO call_summary_changes (call_id) SELECT d.call_id FROM dispositions d "  # noqa: S608 (fixed names)
        f"WHERE d.id = {row}.disposition_id{guard}"
    )


# (table, trigger events): dispositions change figures by these columns only (synced_at changes on every push and
# must not queue the call again).
TRIGGERS = (
    ("call_events", ("INSERT", "DELETE")),
    ("dispositions", ("INSERT", "DELETE", "UPDATE OF call_id, outcome, wrapup_done_at, version")),
    ("bookings", ("INSERT", "DELETE")),
    ("referrals", ("INSERT", "DELETE")),
)


def _statement(table: str, row: str, guarded: bool) -> str:
    if table in ("bookings", "referrals"):
        return _mark_detail(row, guarded)
    return _mark(f"{row}.call_id", guarded)


def _trigger_name(table: str, event: str) -> str:
    return f"{table}_summary_{event.split()[0].lower()}"


def upgrade() -> None:
    op.create_table(
        "call_summaries",
        sa.Column("call_id", sa.String(200), nullable=False),
        sa.Column("offered_at", Timestamp, nullable=False),  # the first event's phone-system time
        sa.Column("answered_at", Timestamp, nullable=True),
        sa.Column("abandoned_at", Timestamp, nullable=True),
        sa.Column("ended_at", Timestamp, nullable=True),  # an end that ended the caller's call
        sa.Column("closed_at", Timestamp, nullable=True),  # any end (also rang out, answered elsewhere)
        sa.Column("agent_id", sa.String(100), nullable=True),  # who answered
        sa.Column("queue", sa.String(100), nullable=False, server_default=""),
        sa.Column("campaign", sa.String(64), nullable=False, server_default=""),
        # What the call adds to each sum (metrics/summaries.py): 1/0 flags, and seconds or counts that are 0 or
        # NULL for calls they do not count for, so a refresh sums columns instead of testing every row.
        sa.Column("answered", sa.Integer, nullable=False, server_default="0"),
        sa.Column("abandoned", sa.Integer, nullable=False, server_default="0"),
        sa.Column("handled", sa.Integer, nullable=False, server_default="0"),
        sa.Column("converted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("wait_s", sa.Float, nullable=True),
        sa.Column("abandon_s", sa.Float, nullable=True),
        sa.Column("hold_s", sa.Float, nullable=False, server_default="0"),
        sa.Column("handle_s", sa.Float, nullable=True),
        sa.Column("wrapup_done_at", Timestamp, nullable=True),
        sa.Column("bookings", sa.Integer, nullable=False, server_default="0"),
        sa.Column("referrals", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("call_id", name="pk_call_summaries"),
    )
    op.create_index("ix_call_summaries_offered_at", "call_summaries", ["offered_at"])
    # The calls still going (ringing or talking): the board's live calls and longest wait read only these.
    still_going = sa.text("ended_at IS NULL")
    op.create_index(
        "ix_call_summaries_open",
        "call_summaries",
        ["offered_at"],
        postgresql_where=still_going,
        sqlite_where=still_going,
    )
    # Sums of the summaries per hour (UTC) and campaign and queue, and per hour and answering agent, and
    # how long callers waited or rang before hanging up (whole seconds): a monitor refresh reads a few hundred
    # rows instead of every call of the day (metrics/rollups.py keeps them equal to the summaries).
    op.create_table(
        "call_rollups",
        sa.Column("bucket_start", Timestamp, nullable=False),
        sa.Column("campaign", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(100), nullable=False),
        *[sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in ROLLUP_COUNTS],
        *[sa.Column(name, sa.Float, nullable=False, server_default="0") for name in ROLLUP_SECONDS],
        sa.PrimaryKeyConstraint("bucket_start", "campaign", "queue", name="pk_call_rollups"),
    )
    op.create_table(
        "call_delays",
        sa.Column("bucket_start", Timestamp, nullable=False),
        sa.Column("campaign", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),  # wait (answered calls), abandon (abandoned calls)
        sa.Column("seconds", sa.Integer, nullable=False),
        sa.Column("calls", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("bucket_start", "campaign", "queue", "kind", "seconds", name="pk_call_delays"),
    )
    op.create_table(
        "agent_rollups",
        sa.Column("bucket_start", Timestamp, nullable=False),
        sa.Column("agent_id", sa.String(100), nullable=False),
        *[sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in AGENT_COUNTS],
        sa.PrimaryKeyConstraint("bucket_start", "agent_id", name="pk_agent_rollups"),
    )
    op.create_table(
        "call_summary_changes",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_call_summary_changes"),
    )
    op.create_index("ix_call_summary_changes_call_id", "call_summary_changes", ["call_id"])
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, events in TRIGGERS:
        for event in events:
            name = _trigger_name(table, event)
            mark = _statement(table, "OLD" if event == "DELETE" else "NEW", guarded=not postgresql)
            if postgresql:
                op.execute(
                    f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {mark}; RETURN NULL; END $$"
                )
                op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")
            else:
                op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {mark}; END")
    # The calls already stored: all of them are out of date.
    op.execute("INSERT INTO call_summary_changes (call_id) SELECT DISTINCT call_id FROM call_events")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, events in TRIGGERS:
        for event in events:
            name = _trigger_name(table, event)
            op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgresql else ""))
            if postgresql:
                op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_table("call_summary_changes")
    for table in ("call_rollups", "call_delays", "agent_rollups"):
        op.drop_table(table)
    op.drop_table("call_summaries")
