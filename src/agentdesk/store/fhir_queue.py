"""The FHIR write-back queue (`fhir_writes`): filled in the wrap-up's own transaction, worked through by
store/writeback.py. Synchronous functions over a SQLAlchemy connection: the caller owns the transaction.

A wrap-up saved again (a new version of its disposition, with new detail rows) does not write an unchanged booking
or referral twice: the new row takes the earlier one's write. A changed one is written as a new resource (the
earlier stays in the EHR: cancelling it there is the scheduler's decision, not the desk's).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from agentdesk.base.ids import new_row_id, ref_source
from agentdesk.base.time import as_utc
from agentdesk.store import schema

if TYPE_CHECKING:
    from agentdesk.store.dispositions import Disposition
    from agentdesk.store.outcomes import Outcomes

KINDS = {"booking": ("bookings", "Appointment"), "referral": ("referrals", "ServiceRequest")}
# Columns that make two bookings (or referrals) the same request, whatever version of the wrap-up they belong to.
SAME = {
    "bookings": ("provider", "location", "visit_type", "starts_at", "new_patient"),
    "referrals": ("target_kind", "target", "internal", "reason", "urgency", "source_kind", "source", "status"),
}
MAX_ERROR = 300


def patient_reference(patient_key: str, backend: str) -> str:
    """'Patient/<id>' for the caller's record in `backend` ('' when the wrap-up names none there)."""
    for ref in patient_key.split(";"):
        if ref and ref_source(ref) == backend:
            return f"Patient/{ref.split(':', 1)[1]}"
    return ""


# -- in the wrap-up's transaction -------------------------------------------------------------------------------
def enqueue(
    connection: sa.Connection, saved: Disposition, outcomes: Outcomes, backends: Sequence[str], now: datetime
) -> None:
    """Queue the saved version's bookings and referrals for every write-back backend (the caller's transaction)."""
    if not backends:
        return
    rows: list[dict[str, Any]] = []
    for kind, items in (("booking", outcomes.bookings), ("referral", outcomes.referrals)):
        table_name = KINDS[kind][0]
        for item in items:
            earlier = _earlier_same(connection, table_name, saved.id, item.id) if saved.version > 1 else []
            for backend in backends:
                if earlier and _take_over(connection, table_name, item.id, earlier, backend):
                    continue
                rows.append(
                    {
                        "id": new_row_id(),
                        "outcome_id": item.id,
                        "kind": kind,
                        "backend": backend,
                        "disposition_id": saved.id,
                        "call_id": saved.call_id,
                        "patient_ref": patient_reference(saved.patient_key, backend),
                        "state": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                )
    if rows:
        connection.execute(schema.fhir_writes.insert(), rows)


def _same_as(table: sa.Table, row: Any) -> list[sa.ColumnElement[bool]]:
    return [table.c[name] == row[name] for name in SAME[table.name]]


def _earlier_same(connection: sa.Connection, table_name: str, disposition_id: str, item_id: str) -> list[str]:
    """Ids of earlier rows of this disposition with the same content as the row `item_id` (just inserted)."""
    table = schema.metadata.tables[table_name]
    row = connection.execute(sa.select(table).where(table.c.id == item_id)).mappings().first()
    if row is None:
        return []
    query = sa.select(table.c.id).where(
        table.c.disposition_id == disposition_id, table.c.id != item_id, *_same_as(table, row)
    )
    return [str(found) for found in connection.execute(query).scalars()]


def _take_over(connection: sa.Connection, table_name: str, item_id: str, earlier: list[str], backend: str) -> bool:
    """The unchanged detail inherits the earlier one's write (and its reference, once written)."""
    writes = schema.fhir_writes
    found = connection.execute(
        sa.select(writes.c.resource_ref).where(writes.c.outcome_id.in_(earlier), writes.c.backend == backend)
    ).first()
    if found is None:
        return False
    if found.resource_ref:
        table = schema.metadata.tables[table_name]
        connection.execute(table.update().where(table.c.id == item_id).values(external_id=found.resource_ref))
    return True


# -- the queue, on the store's writer thread --------------------------------------------------------------------
def due(connection: sa.Connection, now: datetime, backends: Sequence[str], limit: int = 50) -> list[dict[str, Any]]:
    """Pending writes whose time has come, oldest first, each with its booking or referral row under 'detail'."""
    writes = schema.fhir_writes
    query = (
        sa.select(writes)
        .where(writes.c.state == "pending", writes.c.next_attempt_at <= now, writes.c.backend.in_(list(backends)))
        .order_by(writes.c.next_attempt_at, writes.c.created_at)
        .limit(limit)
    )
    jobs = []
    for row in connection.execute(query).mappings().all():
        table = schema.metadata.tables[KINDS[str(row["kind"])][0]]
        detail = connection.execute(sa.select(table).where(table.c.id == row["outcome_id"])).mappings().first()
        if detail is None:  # its disposition was deleted (never by AgentDesk): nothing to write
            continue
        clean = {k: as_utc(v) if isinstance(v, datetime) else v for k, v in detail.items()}
        jobs.append({**row, "detail": clean})
    return jobs


def record_written(connection: sa.Connection, job: dict[str, Any], reference: str, now: datetime) -> None:
    """Mark the write done and keep the reference on the detail and on later unchanged copies of it, and queue it
    for the central store (`fhir_references`, sent by the outbox): the central copy of each of those rows may have
    gone out before the EHR answered, and rows already sent are not sent again."""
    writes = schema.fhir_writes
    connection.execute(
        writes.update()
        .where(writes.c.id == job["id"])
        .values(state="written", resource_ref=reference, last_error="", updated_at=now, attempts=writes.c.attempts + 1)
    )
    table = schema.metadata.tables[KINDS[str(job["kind"])][0]]
    same = sa.and_(table.c.disposition_id == job["disposition_id"], *_same_as(table, job["detail"]))
    ids = [str(found) for found in connection.execute(sa.select(table.c.id).where(same)).scalars()]
    if not ids:
        return
    connection.execute(table.update().where(table.c.id.in_(ids)).values(external_id=reference))
    references = schema.fhir_references
    connection.execute(
        references.insert().prefix_with("OR IGNORE", dialect="sqlite"),
        [
            {
                "id": reference_id(str(job["id"]), outcome_id),
                "outcome_id": outcome_id,
                "kind": job["kind"],
                "backend": job["backend"],
                "resource_ref": reference,
                "written_at": now,
            }
            for outcome_id in ids
        ],
    )


def reference_id(write_id: str, outcome_id: str) -> str:
    """The same write recorded for the same row is the same reference row, locally and centrally (a name-based
    UUID), however often it is recorded."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:agentdesk:fhir-reference:{write_id}:{outcome_id}"))


def record_failure(
    connection: sa.Connection, job: dict[str, Any], error: str, now: datetime, retry_at: datetime | None
) -> None:
    """A refusal (`retry_at` None) is final; anything else waits until `retry_at`."""
    writes = schema.fhir_writes
    values: dict[str, Any] = {"last_error": error[:MAX_ERROR], "updated_at": now, "attempts": writes.c.attempts + 1}
    if retry_at is None:
        values["state"] = "refused"
    else:
        values["next_attempt_at"] = retry_at
    connection.execute(writes.update().where(writes.c.id == job["id"]).values(**values))


def writes_for(connection: sa.Connection, call_id: str) -> list[dict[str, Any]]:
    writes = schema.fhir_writes
    query = sa.select(writes).where(writes.c.call_id == call_id).order_by(writes.c.created_at)
    return [dict(row) for row in connection.execute(query).mappings().all()]
