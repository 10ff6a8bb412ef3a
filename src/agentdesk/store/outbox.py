"""Which local tables the outbox sends to the central store, and how each is keyed.

Every sent row carries a client-made UUID (`key`); the central store inserts it with ON CONFLICT DO NOTHING, so a
push retried after a lost answer never duplicates it. A local row waits in the outbox while its `synced_at` is
NULL: the outbox survives restarts because it is the tables themselves.

A `versioned` table's rows change after they are written (a wrap-up saved again, an agent state that ends): each
change adds 1 to `version` and clears `synced_at`; the central store keeps the highest version it was sent
(ON CONFLICT DO UPDATE ... WHERE version is lower), and a row is marked synced only at the version pushed.

To send another table: give it a UUID key column and a nullable, indexed `synced_at` in a migration, and add an
OutboxTable here (order matters: parents before the rows that refer to them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

ROW = "_row"  # the local row's place in its table (SQLite's rowid): where the next batch starts


@dataclass(frozen=True, slots=True)
class OutboxTable:
    name: str
    key: str = "id"  # the client-made UUID column: the central conflict target
    versioned: bool = False
    local_only: tuple[str, ...] = ()  # columns never sent (local integer ids, server-side timestamps)

    @property
    def unsent(self) -> frozenset[str]:
        return frozenset(("synced_at", *self.local_only))


OUTBOX_TABLES: tuple[OutboxTable, ...] = (
    OutboxTable("dispositions", versioned=True),
    OutboxTable("referrals"),
    OutboxTable("bookings"),
    OutboxTable("callbacks"),
    OutboxTable("fhir_references"),  # after the rows it names (central.py applies it to either order)
    OutboxTable("identity_decisions", local_only=("received_at",)),
    OutboxTable("call_events", key="uid", local_only=("id",)),
    OutboxTable("agent_states", key="uid", versioned=True, local_only=("id",)),
    OutboxTable("audit_events"),
    OutboxTable("script_runs"),
    OutboxTable("script_run_events"),
)


def outbox_table(name: str, tables: tuple[OutboxTable, ...] = OUTBOX_TABLES) -> OutboxTable:
    for table in tables:
        if table.name == name:
            return table
    raise KeyError(f"'{name}' is not sent by the outbox")


# -- the local side: synchronous, on the store's writer thread ------------------------------------------------
def unsynced(
    connection: sa.Connection, spec: OutboxTable, limit: int, after: int | None = None
) -> list[dict[str, Any]]:
    """Up to `limit` rows still to send, in the order they were stored; `after` (a row's `ROW` value) reads the
    batch after that row, while it is being pushed."""
    from agentdesk.store import schema

    table = schema.metadata.tables[spec.name]
    names = [c.name for c in table.columns if c.name not in spec.unsent]
    # Straight from the driver: the values as SQLite keeps them (times as UTC text, booleans as 0/1), which is
    # what the central COPY reads (SQLAlchemy's rows and datetime parsing were most of the outbox's time). In
    # rowid order: the synced_at index keeps its NULL entries in rowid order, so a batch is one range of it
    # (ordering by the key made SQLite sort every unsent row again for each batch).
    columns = ", ".join(f'"{name}"' for name in names)
    later = " AND rowid > ?" if after is not None else ""
    query = f'SELECT rowid, {columns} FROM "{spec.name}" WHERE synced_at IS NULL{later} ORDER BY rowid LIMIT ?'  # noqa: S608 - names from the schema, values bound
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(query, (after, limit) if after is not None else (limit,))
        found = cursor.fetchall()
    finally:
        cursor.close()
    return [{ROW: row[0], **dict(zip(names, row[1:], strict=True))} for row in found]


def mark_synced(connection: sa.Connection, spec: OutboxTable, rows: list[dict[str, Any]], now: datetime) -> None:
    """Only at the version pushed: a row changed since (saved again) stays in the outbox."""
    from agentdesk.store import schema

    table = schema.metadata.tables[spec.name]
    if not rows:
        return
    # One statement per 500 rows (a versioned row matched on its key and the version pushed), not one per row.
    for chunk in (rows[i : i + 500] for i in range(0, len(rows), 500)):
        pushed: sa.ColumnElement[bool] = table.c[spec.key].in_([r[spec.key] for r in chunk])  # the key's index
        if spec.versioned:  # (key, version) alone makes SQLite scan the table
            pushed &= sa.tuple_(table.c[spec.key], table.c.version).in_([(r[spec.key], r["version"]) for r in chunk])
        connection.execute(table.update().where(pushed).values(synced_at=now))


def pending(connection: sa.Connection, specs: tuple[OutboxTable, ...]) -> int:
    from agentdesk.store import schema

    total = 0
    for spec in specs:
        table = schema.metadata.tables[spec.name]
        query = sa.select(sa.func.count()).select_from(table).where(table.c.synced_at.is_(None))
        total += int(connection.execute(query).scalar_one())
    return total
