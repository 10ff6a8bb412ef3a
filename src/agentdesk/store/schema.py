"""Tables of the local store (and, later, the central one). Changed only through Alembic migrations."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    }
)

Timestamp = sa.DateTime(timezone=True)

dispositions = sa.Table(
    "dispositions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # client-made UUID: retries never duplicate centrally
    sa.Column("call_id", sa.String(200), nullable=False, index=True),
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
    sa.Column("synced_at", Timestamp, nullable=True, index=True),
)

call_events = sa.Table(
    "call_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(200), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("occurred_at", Timestamp, nullable=False),
    sa.Column("recorded_at", Timestamp, nullable=False),
    sa.Column("reason", sa.String(32), nullable=False, server_default=""),
    sa.Column("campaign_code", sa.String(64), nullable=False, server_default=""),
)

agent_states = sa.Table(
    "agent_states",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("agent_id", sa.String(100), nullable=False, index=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False, server_default=""),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("ended_at", Timestamp, nullable=True),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("agent_id", sa.String(100), nullable=False, index=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("patient_key", sa.String(500), nullable=False),
    sa.Column("call_id", sa.String(200), nullable=False, server_default=""),
    sa.Column("at", Timestamp, nullable=False),
)

identity_decisions = sa.Table(
    "identity_decisions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # client-made UUID, like every synced row
    sa.Column("left_ref", sa.String(250), nullable=False),
    sa.Column("right_ref", sa.String(250), nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("agent_id", sa.String(100), nullable=False),
    sa.Column("call_id", sa.String(200), nullable=False, server_default=""),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("synced_at", Timestamp, nullable=True),
    sa.Column("received_at", Timestamp, nullable=False, server_default=sa.func.now()),
    sa.Index("ix_identity_decisions_pair", "left_ref", "right_ref"),
    sa.Index("ix_identity_decisions_received_at", "received_at"),
)
