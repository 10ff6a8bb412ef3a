"""Structured outcomes (referrals, bookings, callbacks) linked to their disposition; dispositions get a version
(saving a call's wrap-up again updates it); every table the outbox sends carries a client-made UUID and its
synced_at; unfinished wrap-ups are kept as drafts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def _detail_columns(table: str) -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column(
            "disposition_id",
            sa.String(36),
            sa.ForeignKey("dispositions.id", name=f"fk_{table}_disposition_id_dispositions", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    ]


def _sync_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("synced_at", Timestamp, nullable=True),
    ]


def _new_uuids(table: str, column: str) -> None:
    """Existing local rows get a UUID each (the central store never saw them: they were never sent)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"UPDATE {table} SET {column} = gen_random_uuid()::text")  # noqa: S608 - constant names
    else:
        op.execute(
            f"UPDATE {table} SET {column} = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || "  # noqa: S608
            "substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))"
        )


def upgrade() -> None:
    with op.batch_alter_table("dispositions") as batch:
        batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("updated_at", Timestamp, nullable=True))
    op.create_table(
        "referrals",
        *_detail_columns("referrals"),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("internal", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("source_kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(200), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False, server_default=""),
        *_sync_columns(),
        sa.PrimaryKeyConstraint("id", name="pk_referrals"),
    )
    op.create_table(
        "bookings",
        *_detail_columns("bookings"),
        sa.Column("provider", sa.String(200), nullable=False),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("visit_type", sa.String(100), nullable=False),
        sa.Column("starts_at", Timestamp, nullable=False),
        sa.Column("new_patient", sa.Boolean, nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False, server_default=""),
        *_sync_columns(),
        sa.PrimaryKeyConstraint("id", name="pk_bookings"),
    )
    op.create_table(
        "callbacks",
        *_detail_columns("callbacks"),
        sa.Column("due_at", Timestamp, nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("assigned_to", sa.String(100), nullable=False),
        *_sync_columns(),
        sa.PrimaryKeyConstraint("id", name="pk_callbacks"),
    )
    for table in ("referrals", "bookings", "callbacks"):
        op.create_index(f"ix_{table}_disposition_id", table, ["disposition_id"])
        op.create_index(f"ix_{table}_synced_at", table, ["synced_at"])

    # Call events and agent states had local integer keys only: they get a client-made UUID for the central store.
    for table in ("call_events", "agent_states"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("uid", sa.String(36), nullable=True))
            batch.add_column(sa.Column("synced_at", Timestamp, nullable=True))
        _new_uuids(table, "uid")
        with op.batch_alter_table(table) as batch:
            batch.alter_column("uid", existing_type=sa.String(36), nullable=False)
            batch.create_unique_constraint(f"uq_{table}_uid", ["uid"])
            batch.create_index(f"ix_{table}_synced_at", ["synced_at"])
    with op.batch_alter_table("agent_states") as batch:
        batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("synced_at", Timestamp, nullable=True))
        batch.create_index("ix_audit_events_synced_at", ["synced_at"])
    with op.batch_alter_table("identity_decisions") as batch:
        batch.create_index("ix_identity_decisions_synced_at", ["synced_at"])

    op.create_table(
        "wrapup_drafts",
        sa.Column("call_id", sa.String(200), nullable=False),
        sa.Column("agent_id", sa.String(100), nullable=False),
        sa.Column("call", sa.Text, nullable=False),  # the call as the desk knew it (JSON): reopened with the draft
        sa.Column("form", sa.Text, nullable=False),  # every field of every form (JSON)
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("call_id", name="pk_wrapup_drafts"),
    )


def downgrade() -> None:
    op.drop_table("wrapup_drafts")
    with op.batch_alter_table("identity_decisions") as batch:
        batch.drop_index("ix_identity_decisions_synced_at")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_index("ix_audit_events_synced_at")
        batch.drop_column("synced_at")
    with op.batch_alter_table("agent_states") as batch:
        batch.drop_column("version")
    for table in ("call_events", "agent_states"):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_synced_at")
            batch.drop_constraint(f"uq_{table}_uid", type_="unique")
            batch.drop_column("synced_at")
            batch.drop_column("uid")
    for table in ("callbacks", "bookings", "referrals"):
        op.drop_table(table)
    with op.batch_alter_table("dispositions") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("version")
