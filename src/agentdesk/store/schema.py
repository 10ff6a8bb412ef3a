"""Tables of the local store (and, later, the central one). Changed only through Alembic migrations."""

from __future__ import annotations

from typing import Any

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
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),  # saving the wrap-up again: +1
    sa.Column("updated_at", Timestamp, nullable=True),
    sa.Index("ix_dispositions_wrapup_done_at", "wrapup_done_at"),
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
    sa.Column("uid", sa.String(36), nullable=False, unique=True),  # client-made: the central key
    sa.Column("synced_at", Timestamp, nullable=True, index=True),
    sa.Column("agent_id", sa.String(100), nullable=False, server_default=""),  # whose desk saw the event
    sa.Column("queue", sa.String(100), nullable=False, server_default=""),
    sa.Index("ix_call_events_occurred_at", "occurred_at"),
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
    sa.Column("uid", sa.String(36), nullable=False, unique=True),
    sa.Column("synced_at", Timestamp, nullable=True, index=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),  # ended_at set later: +1
    sa.Index("ix_agent_states_agent_started", "agent_id", "started_at"),
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
    sa.Column("synced_at", Timestamp, nullable=True, index=True),
    # The per-workstation hash chain (store/audit.py): seq 1, 2, 3 ... each row linked to the one before.
    sa.Column("workstation", sa.String(64), nullable=False, server_default=""),
    sa.Column("seq", sa.Integer, nullable=True),
    sa.Column("detail", sa.String(200), nullable=False, server_default=""),
    sa.Column("prev_hash", sa.String(64), nullable=False, server_default=""),
    sa.Column("hash", sa.String(64), nullable=False, server_default=""),
    sa.Index("ix_audit_events_chain", "workstation", "seq", unique=True),
    sa.Index("ix_audit_events_patient_key", "patient_key"),
)

agent_roles = sa.Table(
    "agent_roles",
    metadata,
    sa.Column("login", sa.String(200), primary_key=True),  # OS login, compared case-insensitively
    sa.Column("role", sa.String(16), nullable=False),  # supervisor or admin (IT maintains it centrally)
)

workstation = sa.Table(
    "workstation",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # names this store's audit chain, here and centrally
    sa.Column("created_at", Timestamp, nullable=False),
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
    sa.Column("synced_at", Timestamp, nullable=True, index=True),
    sa.Column("received_at", Timestamp, nullable=False, server_default=sa.func.now()),
    sa.Index("ix_identity_decisions_pair", "left_ref", "right_ref"),
    sa.Index("ix_identity_decisions_received_at", "received_at"),
)


def _detail(name: str, *columns: sa.Column[Any]) -> sa.Table:
    """A structured outcome of a disposition; `version` is the disposition's version it belongs to (a wrap-up
    saved again writes a new set, so the central store, which only ever inserts details, keeps each once)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "disposition_id",
            sa.String(36),
            sa.ForeignKey("dispositions.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        *columns,
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("synced_at", Timestamp, nullable=True, index=True),
    )


referrals = _detail(
    "referrals",
    sa.Column("target_kind", sa.String(16), nullable=False),  # service_line | department | provider
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("internal", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("urgency", sa.String(16), nullable=False),
    sa.Column("source_kind", sa.String(16), nullable=False),  # campaign | physician | self
    sa.Column("source", sa.String(200), nullable=False, server_default=""),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("external_id", sa.String(200), nullable=False, server_default=""),  # e.g. FHIR ServiceRequest id
)

bookings = _detail(
    "bookings",
    sa.Column("provider", sa.String(200), nullable=False),
    sa.Column("location", sa.String(200), nullable=False),
    sa.Column("visit_type", sa.String(100), nullable=False),
    sa.Column("starts_at", Timestamp, nullable=False),
    sa.Column("new_patient", sa.Boolean, nullable=False),
    sa.Column("external_id", sa.String(200), nullable=False, server_default=""),  # e.g. FHIR Appointment id
)

callbacks = _detail(
    "callbacks",
    sa.Column("due_at", Timestamp, nullable=False),  # UTC; time_zone says how the caller reads it
    sa.Column("time_zone", sa.String(64), nullable=False),
    sa.Column("number", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("assigned_to", sa.String(100), nullable=False),  # an agent id, or 'queue'
)

wrapup_drafts = sa.Table(
    "wrapup_drafts",  # local only: an unfinished wrap-up, reopened with its call after a crash
    metadata,
    sa.Column("call_id", sa.String(200), primary_key=True),
    sa.Column("agent_id", sa.String(100), nullable=False),
    sa.Column("call", sa.Text, nullable=False),
    sa.Column("form", sa.Text, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

# A script run: which script (id + version) guided the call, where it went, and how it ended. Written once, at
# wrap-up, with its events (every step reached, answer, skip, back, restart, off-script note) in one transaction.
script_runs = sa.Table(
    "script_runs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # client-made UUID, like every synced row
    sa.Column("call_id", sa.String(200), nullable=False, index=True),
    sa.Column("agent_id", sa.String(100), nullable=False),
    sa.Column("campaign_code", sa.String(64), nullable=False),
    sa.Column("script_id", sa.String(64), nullable=False),
    sa.Column("script_version", sa.Integer, nullable=False),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("stored_at", Timestamp, nullable=False),
    sa.Column("last_step", sa.String(64), nullable=False),
    sa.Column("finished", sa.Boolean, nullable=False),  # reached an end step (else: left the script at last_step)
    sa.Column("path", sa.Text, nullable=False),  # step ids in order, space-separated (ids have no spaces)
    sa.Column("suggested_disposition", sa.String(64), nullable=False, server_default=""),
    sa.Column("disposition_code", sa.String(64), nullable=False, server_default=""),
    sa.Column("outcome", sa.String(32), nullable=False, server_default=""),
    sa.Column("synced_at", Timestamp, nullable=True, index=True),
    sa.Index("ix_script_runs_script", "script_id", "script_version", "started_at"),
)

script_run_events = sa.Table(
    "script_run_events",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("run_id", sa.String(36), nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # reached, answered, skipped, back, restart, note, campaign
    sa.Column("step_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("value", sa.Text, nullable=False, server_default=""),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("synced_at", Timestamp, nullable=True, index=True),
)

# The FHIR write-back queue (local only): one row per booking or referral per FHIR backend with `write_back`.
# It is the durable queue itself: a row waits while `state` is 'pending' and `next_attempt_at` has not come, so a
# restart or an outage loses nothing (store/writeback.py).
fhir_writes = sa.Table(
    "fhir_writes",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("outcome_id", sa.String(36), nullable=False),  # the booking's or referral's client UUID
    sa.Column("kind", sa.String(16), nullable=False),  # booking | referral
    sa.Column("backend", sa.String(100), nullable=False),
    sa.Column("disposition_id", sa.String(36), nullable=False, index=True),
    sa.Column("call_id", sa.String(200), nullable=False),
    sa.Column("patient_ref", sa.String(200), nullable=False, server_default=""),  # 'Patient/<id>' when known
    sa.Column("state", sa.String(16), nullable=False),  # pending | written | refused
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", Timestamp, nullable=False),
    sa.Column("last_error", sa.String(300), nullable=False, server_default=""),
    sa.Column("resource_ref", sa.String(200), nullable=False, server_default=""),  # e.g. 'Appointment/abc'
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=True),
    sa.Index("ix_fhir_writes_outcome", "outcome_id", "backend", unique=True),
    sa.Index("ix_fhir_writes_due", "state", "next_attempt_at"),
)

# What the EHR made of each booking and referral (migration 0013): written on the desk in the transaction that marks
# the write done, and sent by the outbox; the central store sets the booking's or referral's `external_id` from it
# whichever arrives first (store/central.py). The id is derived from the write and the row (fhir_queue.py), so
# recording the same reference twice makes one row here and centrally.
fhir_references = sa.Table(
    "fhir_references",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("outcome_id", sa.String(36), nullable=False, index=True),  # the booking's or referral's client UUID
    sa.Column("kind", sa.String(16), nullable=False),  # booking | referral
    sa.Column("backend", sa.String(100), nullable=False),
    sa.Column("resource_ref", sa.String(200), nullable=False),  # e.g. 'Appointment/abc'
    sa.Column("written_at", Timestamp, nullable=False),
    sa.Column("synced_at", Timestamp, nullable=True, index=True),
)

# One row per call for metrics (migration 0012): recomputed from the facts above by metrics/summaries.py for every
# call the triggers queued in call_summary_changes. Derived only: never synced, rebuildable at any time.
call_summaries = sa.Table(
    "call_summaries",
    metadata,
    sa.Column("call_id", sa.String(200), primary_key=True),
    sa.Column("offered_at", Timestamp, nullable=False),
    sa.Column("answered_at", Timestamp, nullable=True),
    sa.Column("abandoned_at", Timestamp, nullable=True),
    sa.Column("ended_at", Timestamp, nullable=True),
    sa.Column("closed_at", Timestamp, nullable=True),
    sa.Column("agent_id", sa.String(100), nullable=True),
    sa.Column("queue", sa.String(100), nullable=False, server_default=""),
    sa.Column("campaign", sa.String(64), nullable=False, server_default=""),
    sa.Column("answered", sa.Integer, nullable=False, server_default="0"),  # what the call adds to each sum
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
    sa.Index("ix_call_summaries_offered_at", "offered_at"),
    sa.Index(
        "ix_call_summaries_open",
        "offered_at",
        postgresql_where=sa.text("ended_at IS NULL"),
        sqlite_where=sa.text("ended_at IS NULL"),
    ),
)

call_summary_changes = sa.Table(
    "call_summary_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(200), nullable=False, index=True),
)

ROLLUP_COUNTS = ("offered", "answered", "abandoned", "handled", "handle_calls", "bookings", "referrals", "converted")
ROLLUP_SECONDS = ("wait_total_s", "hold_total_s", "handle_total_s")
AGENT_COUNTS = ("handled", "bookings", "referrals")
# Sums of call_summaries (migration 0012), kept by metrics/rollups.py: per hour, campaign and queue; the
# delays in whole seconds (for the thresholds); per hour and answering agent.
call_rollups = sa.Table(
    "call_rollups",
    metadata,
    sa.Column("bucket_start", Timestamp, primary_key=True),
    sa.Column("campaign", sa.String(64), primary_key=True),
    sa.Column("queue", sa.String(100), primary_key=True),
    *[sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in ROLLUP_COUNTS],
    *[sa.Column(name, sa.Float, nullable=False, server_default="0") for name in ROLLUP_SECONDS],
)
call_delays = sa.Table(
    "call_delays",
    metadata,
    sa.Column("bucket_start", Timestamp, primary_key=True),
    sa.Column("campaign", sa.String(64), primary_key=True),
    sa.Column("queue", sa.String(100), primary_key=True),
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("seconds", sa.Integer, primary_key=True),
    sa.Column("calls", sa.Integer, nullable=False, server_default="0"),
)
agent_rollups = sa.Table(
    "agent_rollups",
    metadata,
    sa.Column("bucket_start", Timestamp, primary_key=True),
    sa.Column("agent_id", sa.String(100), primary_key=True),
    *[sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in AGENT_COUNTS],
)
