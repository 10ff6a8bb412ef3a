"""On PostgreSQL, the triggers that queue a call whose facts were inserted (call_summary_changes, see 0012) run once
per statement over the rows it inserted (a transition table) instead of once per row.

Why: the outbox pushes a batch of thousands of rows with one INSERT ... SELECT; a row-level PL/pgSQL trigger ran an
INSERT for each of them. Measured with EXPLAIN ANALYZE on 20,000 dispositions (6 alternating runs): the trigger took
a median 177 ms of the insert's ~470 ms per row, 92 ms per statement. Inserts of one row per statement cost the same
either way (22 ms of server CPU per 1,000 rows). The queue gets the same entries: one per inserted row
(PostgreSQL's queue was never guarded, 0012), in the same transaction. UPDATE and DELETE triggers stay per row
(PostgreSQL allows no transition table on an UPDATE OF trigger; deletes are rare). SQLite has no statement
triggers and keeps 0012's.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# table -> the call ids of the rows a statement inserted (`added` is the transition table); the names are 0012's.
QUEUED = {
    "call_events": "SELECT n.call_id FROM added n",
    "dispositions": "SELECT n.call_id FROM added n",
    # Detail rows change their disposition's call.
    "bookings": "SELECT d.call_id FROM added n JOIN dispositions d ON d.id = n.disposition_id",
    "referrals": "SELECT d.call_id FROM added n JOIN dispositions d ON d.id = n.disposition_id",
}
# 0012's per-row statements, for the downgrade.
PER_ROW = {
    "call_events": "SELECT NEW.call_id",
    "dispositions": "SELECT NEW.call_id",
    "bookings": "SELECT d.call_id FROM dispositions d WHERE d.id = NEW.disposition_id",
    "referrals": "SELECT d.call_id FROM dispositions d WHERE d.id = NEW.disposition_id",
}


def _replace(table: str, body: str, timing: str) -> None:
    name = f"{table}_summary_insert"
    op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute(
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body}; RETURN NULL; END $$"
    )
    op.execute(f"CREATE TRIGGER {name} AFTER INSERT ON {table} {timing} EXECUTE FUNCTION {name}()")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, calls in QUEUED.items():
        queue = f"INSERT INTO call_summary_changes (call_id) {calls}"
        _replace(table, queue, "REFERENCING NEW TABLE AS added FOR EACH STATEMENT")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, calls in PER_ROW.items():
        _replace(table, f"INSERT INTO call_summary_changes (call_id) {calls}", "FOR EACH ROW")
