"""The audit trail (modelled on FHIR AuditEvent: who, what action, which patient record, when, for which call),
hash-chained per workstation so that a deleted, edited or reordered row is detectable, locally and centrally.

Each row of a workstation carries `seq` (1, 2, 3 ...), `prev_hash` (the previous row's hash; "" for the first)
and `hash` = SHA-256 over its own content and `prev_hash`. Rows are appended on the store's writer thread inside
the transaction of what they audit (a wrap-up, an identity decision), or in their own transaction before the
data they describe reaches the screen. Rows are never updated, except for `synced_at` (not hashed).

What the chain cannot show on its own: the last rows cut off the end. The central copy (sent through the outbox)
and its own verification cover that once the rows have been sent.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agentdesk.base.time import utc_now

if TYPE_CHECKING:  # SQLAlchemy loads when the store opens, not with this module (the desk imports AuditEntry)
    import sqlalchemy as sa

# What the desk audits (FHIR AuditEvent subtype-like codes).
PROFILE_VIEW = "profile_view"  # the agent opened a patient's profile
RECORDS_SHOWN = "records_shown"  # records of a lookup reached the screen (candidate list, pop, notification)
SEARCH = "search"  # the agent searched (detail: by what, never the text)
MATCH_CONFIRM = "match_confirm"
MATCH_SPLIT = "match_split"
CAMPAIGN_SWITCH = "campaign_switch"
EXPORT = "export"
WRAP_UP = "wrap_up"
WRAP_UP_DISCARD = "wrap_up_discard"  # the agent closed an ended call without a disposition (detail: their reason)
VIEWING = (PROFILE_VIEW, RECORDS_SHOWN)


@dataclass(frozen=True)
class AuditEntry:
    agent_id: str
    action: str
    patient_key: str = ""
    call_id: str = ""
    detail: str = ""
    at: datetime = field(default_factory=utc_now)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


def _moment(value: Any) -> str:
    """One spelling of a time for hashing, whatever the database hands back (naive UTC from SQLite)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return str(value)
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return str(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


HASHED = ("id", "workstation", "seq", "agent_id", "action", "patient_key", "call_id", "detail", "prev_hash")


def row_hash(row: dict[str, Any]) -> str:
    content = [str(row[name]) for name in HASHED] + [_moment(row["at"])]
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()


def workstation_id(connection: sa.Connection) -> str:
    """This store's chain name, made once (host name plus a random part: two stores on one machine differ)."""
    import socket

    import sqlalchemy as sa

    from agentdesk.store import schema

    table = schema.workstation
    found = connection.execute(sa.select(table.c.id).limit(1)).scalar()
    if found:
        return str(found)
    made = f"{socket.gethostname()[:40]}-{uuid.uuid4().hex[:12]}"
    connection.execute(table.insert().values(id=made, created_at=utc_now()))
    return made


def append(connection: sa.Connection, workstation: str, entries: Iterable[AuditEntry]) -> list[dict[str, Any]]:
    """Chain `entries` after this workstation's last row, in the caller's transaction (which must be a writing
    one: BEGIN IMMEDIATE, so two processes on one store never take the same sequence number)."""
    last, insert = _statements()
    head = connection.execute(last, {"b_ws": workstation}).first()
    seq, previous = (int(head.seq), str(head.hash)) if head is not None else (0, "")
    rows = []
    for entry in entries:
        seq += 1
        row = {
            "id": entry.id,
            "workstation": workstation,
            "seq": seq,
            "agent_id": entry.agent_id,
            "action": entry.action,
            "patient_key": entry.patient_key,
            "call_id": entry.call_id,
            "detail": entry.detail[:200],
            "at": entry.at,
            "prev_hash": previous,
        }
        row["hash"] = previous = row_hash(row)
        rows.append(row)
    if rows:
        connection.execute(insert, rows)
    return rows


@functools.cache
def _statements() -> tuple[Any, Any]:
    """The chain's head and its insert, built once (every wrap-up and every record shown appends here)."""
    import sqlalchemy as sa

    from agentdesk.store import schema

    table = schema.audit_events
    last = (
        sa.select(table.c.seq, table.c.hash)
        .where(table.c.workstation == sa.bindparam("b_ws"), table.c.seq.is_not(None))
        .order_by(table.c.seq.desc())
        .limit(1)
    )
    return last, table.insert()


@dataclass(frozen=True)
class ChainProblem:
    workstation: str
    seq: int
    problem: str  # deleted, edited, reordered

    def __str__(self) -> str:
        return f"{self.workstation} #{self.seq}: {self.problem}"


@dataclass
class ChainReport:
    rows: int = 0
    unchained: int = 0  # rows written before the chain existed (migration 0009)
    workstations: int = 0
    problems: list[ChainProblem] = field(default_factory=list)


def chain_rows(connection: sa.Connection) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    from agentdesk.store import schema

    table = schema.audit_events
    query = sa.select(table).order_by(table.c.workstation, table.c.seq)
    return [dict(row) for row in connection.execute(query).mappings()]


def verify(rows: list[dict[str, Any]]) -> ChainReport:
    """Check every workstation's chain: numbering without gaps from 1, each link, each hash, time order."""
    report = ChainReport(rows=len(rows))
    chains: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("seq") is None or not row.get("hash"):
            report.unchained += 1
            continue
        chains.setdefault(str(row["workstation"]), []).append(row)
    report.workstations = len(chains)
    for workstation, chain in chains.items():
        chain.sort(key=lambda r: int(r["seq"]))
        expected_seq, previous_hash, previous_at = 1, "", ""
        for row in chain:
            seq = int(row["seq"])
            if seq != expected_seq:
                missing = f"#{expected_seq}" if seq == expected_seq + 1 else f"#{expected_seq}-#{seq - 1}"
                report.problems.append(ChainProblem(workstation, seq, f"deleted: {missing} missing before it"))
            elif row["prev_hash"] != previous_hash:
                report.problems.append(
                    ChainProblem(workstation, seq, f"deleted or reordered: link to #{seq - 1} broken")
                )
            if row_hash(row) != row["hash"]:
                report.problems.append(ChainProblem(workstation, seq, "edited: content does not match its hash"))
            at = _moment(row["at"])
            if previous_at and at < previous_at:
                report.problems.append(ChainProblem(workstation, seq, "reordered: earlier than the row before"))
            expected_seq, previous_hash, previous_at = seq + 1, str(row["hash"]), at
    return report


def who_viewed(
    connection: sa.Connection, patient_ref: str, start: datetime | None = None, end: datetime | None = None
) -> list[dict[str, Any]]:
    """Every audit row that showed `patient_ref` (a 'source:id' reference), oldest first."""
    import sqlalchemy as sa

    from agentdesk.store import schema

    table = schema.audit_events
    wrapped = sa.literal(";") + table.c.patient_key + sa.literal(";")
    query = sa.select(table).where(wrapped.contains(f";{patient_ref};", autoescape=True))
    if start is not None:
        query = query.where(table.c.at >= start)
    if end is not None:
        query = query.where(table.c.at < end)
    return [dict(row) for row in connection.execute(query.order_by(table.c.at)).mappings()]
