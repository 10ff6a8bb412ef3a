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


@dataclass(frozen=True, slots=True)
class OutboxBatch:
    """Rows of one table still to send, as SQLite keeps them (times as UTC text, booleans as 0/1): tuples in the
    order of `columns`, which is what the central COPY writes. No dict per row: building one per row and taking
    it apart again for the COPY cost about 5 us of CPU per row (profiled), on the thread that competes with the
    push for the interpreter."""

    table: OutboxTable
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    last: int  # the last row's place in its table (SQLite's rowid): the next batch starts after it

    def __len__(self) -> int:
        return len(self.rows)

    def __bool__(self) -> bool:
        return bool(self.rows)

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def pushed(self) -> list[tuple[Any, ...]]:
        """What marks each row synced: its key, and for a versioned table the version pushed."""
        key = self.columns.index(self.table.key)
        if not self.table.versioned:
            return [(row[key],) for row in self.rows]
        version = self.columns.index("version")
        return [(row[key], row[version]) for row in self.rows]


# -- the local side: synchronous, on the store's writer thread ------------------------------------------------
def read_batch(connection: sa.Connection, spec: OutboxTable, limit: int, after: int | None = None) -> OutboxBatch:
    """Up to `limit` rows still to send, in the order they were stored; `after` (a batch's `last`) reads the batch
    after that row, while it is being pushed."""
    names, found = _select(connection, spec, limit, after)
    width = len(names)
    return OutboxBatch(spec, names, [row[:width] for row in found], found[-1][width] if found else after or 0)


def unsynced(
    connection: sa.Connection, spec: OutboxTable, limit: int, after: int | None = None
) -> list[dict[str, Any]]:
    """The same rows as dicts, each with its place under `ROW` (for readers other than the push)."""
    names, found = _select(connection, spec, limit, after)
    return [{ROW: row[-1], **dict(zip(names, row[:-1], strict=True))} for row in found]


def _select(
    connection: sa.Connection, spec: OutboxTable, limit: int, after: int | None
) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    from agentdesk.store import schema

    table = schema.metadata.tables[spec.name]
    names = tuple(c.name for c in table.columns if c.name not in spec.unsent)
    # Straight from the driver (SQLAlchemy's rows and datetime parsing were most of the outbox's time). In rowid
    # order: the synced_at index keeps its NULL entries in rowid order, so a batch is one range of it (ordering by
    # the key made SQLite sort every unsent row again for each batch). The rowid comes last.
    columns = ", ".join(f'"{name}"' for name in names)
    later = " AND rowid > ?" if after is not None else ""
    query = f'SELECT {columns}, rowid FROM "{spec.name}" WHERE synced_at IS NULL{later} ORDER BY rowid LIMIT ?'  # noqa: S608 - names from the schema, values bound
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(query, (after, limit) if after is not None else (limit,))
        return names, cursor.fetchall()
    finally:
        cursor.close()


def mark_synced(
    connection: sa.Connection, spec: OutboxTable, rows: OutboxBatch | list[dict[str, Any]], now: datetime
) -> None:
    """Only at the version pushed: a row changed since (saved again) stays in the outbox."""
    from agentdesk.store import schema

    if not rows:
        return
    if isinstance(rows, OutboxBatch):
        pushed = rows.pushed()
    else:
        pushed = [(r[spec.key], r["version"]) if spec.versioned else (r[spec.key],) for r in rows]
    synced_at = schema.metadata.tables[spec.name].c.synced_at
    # The time as SQLAlchemy writes it, then one statement executed per row by the driver, found by key (its
    # index): compiling IN lists of 500 keys and (key, version) pairs was two thirds of the marking's CPU.
    stored = synced_at.type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    value = stored(now) if stored is not None else now
    same_version = " AND version = ?" if spec.versioned else ""
    statement = f'UPDATE "{spec.name}" SET synced_at = ? WHERE "{spec.key}" = ?{same_version}'  # noqa: S608 - names from the schema, values bound
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(statement, [(value, *row) for row in pushed])
    finally:
        cursor.close()


def pending(connection: sa.Connection, specs: tuple[OutboxTable, ...]) -> int:
    from agentdesk.store import schema

    total = 0
    for spec in specs:
        table = schema.metadata.tables[spec.name]
        query = sa.select(sa.func.count()).select_from(table).where(table.c.synced_at.is_(None))
        total += int(connection.execute(query).scalar_one())
    return total
