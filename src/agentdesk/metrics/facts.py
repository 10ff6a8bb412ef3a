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
    sa.column("wrapup_done_at", Timestamp),
    sa.column("version", sa.Integer),
)

bookings = sa.table("bookings", sa.column("disposition_id", sa.String), sa.column("version", sa.Integer))
referrals = sa.table("referrals", sa.column("disposition_id", sa.String), sa.column("version", sa.Integer))

ALL = (call_events, agent_states, dispositions, bookings, referrals)
