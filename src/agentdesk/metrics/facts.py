"""The stored facts metrics read, named as the store's migrations create them. Lightweight table clauses, not the
store's Table objects: metrics sit beside the store (same layer), not on top of it; a test checks that every
column named here exists in the store's schema."""

from __future__ import annotations

import sqlalchemy as sa

Timestamp = sa.DateTime(timezone=True)

call_events = sa.table(
    "call_events",
    sa.column("call_id", sa.String),
    sa.column("kind", sa.String),
    sa.column("state", sa.String),
    sa.column("reason", sa.String),
    sa.column("occurred_at", Timestamp),
    sa.column("agent_id", sa.String),
    sa.column("queue", sa.String),
    sa.column("campaign_code", sa.String),
)

agent_states = sa.table(
    "agent_states",
    sa.column("agent_id", sa.String),
    sa.column("state", sa.String),
    sa.column("reason", sa.String),
    sa.column("started_at", Timestamp),
    sa.column("ended_at", Timestamp),
)

dispositions = sa.table(
    "dispositions",
    sa.column("id", sa.String),
    sa.column("call_id", sa.String),
    sa.column("agent_id", sa.String),
    sa.column("campaign_code", sa.String),
    sa.column("outcome", sa.String),
    sa.column("patient_key", sa.String),
    sa.column("wrapup_done_at", Timestamp),
    sa.column("version", sa.Integer),
)

bookings = sa.table(
    "bookings",
    sa.column("disposition_id", sa.String),
    sa.column("version", sa.Integer),
    sa.column("new_patient", sa.Boolean),
)
referrals = sa.table("referrals", sa.column("disposition_id", sa.String), sa.column("version", sa.Integer))


script_runs = sa.table(
    "script_runs",
    sa.column("call_id", sa.String),
    sa.column("script_id", sa.String),
    sa.column("script_version", sa.Integer),
    sa.column("started_at", Timestamp),
    sa.column("finished", sa.Boolean),
    sa.column("last_step", sa.String),
    sa.column("outcome", sa.String),
)

# Derived (migration 0012): one row per call, kept current by metrics/summaries.py.
call_summaries = sa.table(
    "call_summaries",
    sa.column("call_id", sa.String),
    sa.column("offered_at", Timestamp),
    sa.column("answered_at", Timestamp),
    sa.column("abandoned_at", Timestamp),
    sa.column("ended_at", Timestamp),
    sa.column("closed_at", Timestamp),
    sa.column("agent_id", sa.String),
    sa.column("queue", sa.String),
    sa.column("campaign", sa.String),
    sa.column("answered", sa.Integer),
    sa.column("abandoned", sa.Integer),
    sa.column("handled", sa.Integer),
    sa.column("converted", sa.Integer),
    sa.column("wait_s", sa.Float),
    sa.column("abandon_s", sa.Float),
    sa.column("hold_s", sa.Float),
    sa.column("handle_s", sa.Float),
    sa.column("wrapup_done_at", Timestamp),
    sa.column("bookings", sa.Integer),
    sa.column("referrals", sa.Integer),
)
call_summary_changes = sa.table("call_summary_changes", sa.column("id", sa.Integer), sa.column("call_id", sa.String))

ROLLUP_COUNTS = ("offered", "answered", "abandoned", "handled", "handle_calls", "bookings", "referrals", "converted")
ROLLUP_SECONDS = ("wait_total_s", "hold_total_s", "handle_total_s")
AGENT_COUNTS = ("handled", "bookings", "referrals")
call_rollups = sa.table(
    "call_rollups",
    sa.column("bucket_start", Timestamp),
    sa.column("campaign", sa.String),
    sa.column("queue", sa.String),
    *[sa.column(name, sa.Integer) for name in ROLLUP_COUNTS],
    *[sa.column(name, sa.Float) for name in ROLLUP_SECONDS],
)
call_delays = sa.table(
    "call_delays",
    sa.column("bucket_start", Timestamp),
    sa.column("campaign", sa.String),
    sa.column("queue", sa.String),
    sa.column("kind", sa.String),
    sa.column("seconds", sa.Integer),
    sa.column("calls", sa.Integer),
)
agent_rollups = sa.table(
    "agent_rollups",
    sa.column("bucket_start", Timestamp),
    sa.column("agent_id", sa.String),
    *[sa.column(name, sa.Integer) for name in AGENT_COUNTS],
)

ALL = (
    call_events, agent_states, dispositions, bookings, referrals, script_runs, call_summaries, call_summary_changes,
    call_rollups, call_delays, agent_rollups,
)  # fmt: skip
