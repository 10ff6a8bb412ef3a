"""Wrap-up rows: a disposition with its referrals, bookings and callbacks, saved in one transaction (idempotent
per call), read back for export (the same SQL on the local SQLite and the central PostgreSQL), and the drafts
of unfinished wrap-ups. Synchronous functions over a SQLAlchemy connection: the caller owns the transaction."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from agentdesk.base.time import as_utc
from agentdesk.store import schema
from agentdesk.store.dispositions import Disposition
from agentdesk.store.outcomes import Outcomes, WrapUpForm

DETAIL_TABLES = ("referrals", "bookings", "callbacks")


def save_wrapup(
    connection: sa.Connection,
    disposition: Disposition,
    outcomes: Outcomes,
    now: datetime,
    extra_rows: list[tuple[str, dict[str, Any]]] | None = None,
) -> Disposition:
    """Store the wrap-up of a call: the first save inserts the disposition, a later one for the same call (and
    agent) updates it as the next version, so the call is never counted twice. Details are written under the
    version they belong to. The call's draft is removed in the same transaction. `extra_rows` (e.g. the audit row
    of this save) commit with it. Returns the disposition as stored (its id and version)."""
    table = schema.dispositions
    statements = _statements()
    existing = connection.execute(
        statements.existing, {"b_call": disposition.call_id, "b_agent": disposition.agent_id}
    ).first()
    values = {
        "call_id": disposition.call_id,
        "agent_id": disposition.agent_id,
        "campaign_code": disposition.campaign_code,
        "disposition_code": disposition.disposition_code,
        "outcome": disposition.outcome,
        "notes": disposition.notes,
        "patient_key": disposition.patient_key,
        "offered_at": disposition.offered_at,
        "answered_at": disposition.answered_at,
        "ended_at": disposition.ended_at,
        "wrapup_done_at": disposition.wrapup_done_at,
    }
    if existing is None:
        saved = replace(disposition, version=1)
        connection.execute(
            statements.inserts[table.name], [{"id": saved.id, "version": 1, "created_at": now, **values}]
        )
    else:
        saved = replace(disposition, id=str(existing.id), version=int(existing.version) + 1)
        connection.execute(
            statements.update,
            [{"b_id": saved.id, "version": saved.version, "updated_at": now, "synced_at": None, **values}],
        )
    for name, rows in outcomes.rows().items():
        if rows:
            connection.execute(
                statements.inserts[name],
                [{**row, "disposition_id": saved.id, "version": saved.version, "created_at": now} for row in rows],
            )
    for name, row in extra_rows or []:
        connection.execute(schema.metadata.tables[name].insert(), [row])
    connection.execute(statements.drop_draft, {"b_call": disposition.call_id})
    return saved


@dataclass(frozen=True)
class _Statements:
    existing: sa.Select[Any]
    update: sa.Update
    drop_draft: sa.Delete
    inserts: dict[str, sa.Insert]


@functools.cache
def _statements() -> _Statements:
    """Built once: SQLAlchemy then skips building the statement and its cache key on every save (a save built
    fresh statements each time and spent more in SQLAlchemy than in SQLite)."""
    table, drafts = schema.dispositions, schema.wrapup_drafts
    return _Statements(
        existing=sa.select(table.c.id, table.c.version).where(
            table.c.call_id == sa.bindparam("b_call"), table.c.agent_id == sa.bindparam("b_agent")
        ),
        update=table.update().where(table.c.id == sa.bindparam("b_id")),
        drop_draft=drafts.delete().where(drafts.c.call_id == sa.bindparam("b_call")),
        inserts={name: schema.metadata.tables[name].insert() for name in ("dispositions", *DETAIL_TABLES)},
    )


def wrapups_between(
    connection: sa.Connection, start: datetime, end: datetime, with_notes: bool = False
) -> list[dict[str, Any]]:
    """Dispositions wrapped up in [start, end), oldest first, each with its current details (those of its latest
    version) under 'referrals', 'bookings' and 'callbacks'. Notes only when asked for."""
    table = schema.dispositions
    query = (
        sa.select(table)
        .where(table.c.wrapup_done_at >= start, table.c.wrapup_done_at < end)
        .order_by(table.c.wrapup_done_at, table.c.id)
    )
    local_only = {"synced_at", "updated_at"} | (set() if with_notes else {"notes"})
    found = [
        {k: _plain(v) for k, v in row.items() if k not in local_only}
        for row in connection.execute(query).mappings().all()
    ]
    by_id = {row["id"]: row for row in found}
    for row in found:
        for name in DETAIL_TABLES:
            row[name] = []
    for name in DETAIL_TABLES:
        detail = schema.metadata.tables[name]
        ids = list(by_id)
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            details = (
                sa.select(detail)
                .join(table, table.c.id == detail.c.disposition_id)
                .where(detail.c.disposition_id.in_(chunk), detail.c.version == table.c.version)
                .order_by(detail.c.created_at, detail.c.id)
            )
            for item in connection.execute(details).mappings().all():
                clean = {k: _plain(v) for k, v in item.items() if k not in ("synced_at", "disposition_id")}
                by_id[item["disposition_id"]][name].append(clean)
    return found


def _plain(value: Any) -> Any:
    """SQLite hands datetimes back naive (they were written as UTC): make them aware, like PostgreSQL's."""
    return as_utc(value) if isinstance(value, datetime) else value


# -- drafts of unfinished wrap-ups ----------------------------------------------------------------------------
def save_draft(
    connection: sa.Connection, call_id: str, agent_id: str, call: dict[str, Any], form: WrapUpForm, now: datetime
) -> None:
    drafts = schema.wrapup_drafts
    connection.execute(drafts.delete().where(drafts.c.call_id == call_id))
    connection.execute(
        drafts.insert().values(
            call_id=call_id,
            agent_id=agent_id,
            call=json.dumps(call, default=str),
            form=json.dumps(form.to_json()),
            updated_at=now,
        )
    )


def open_drafts(connection: sa.Connection, agent_id: str) -> list[tuple[dict[str, Any], WrapUpForm]]:
    """Unfinished wrap-ups of this agent, oldest first: (the call as it was known, the form)."""
    drafts = schema.wrapup_drafts
    query = sa.select(drafts).where(drafts.c.agent_id == agent_id).order_by(drafts.c.updated_at)
    found = []
    for row in connection.execute(query).mappings().all():
        try:
            call, form = json.loads(row["call"]), json.loads(row["form"])
        except ValueError:
            continue  # a draft cut short is not worth refusing to start over
        if isinstance(call, dict):
            found.append((call, WrapUpForm.from_json(form)))
    return found


def discard_draft(connection: sa.Connection, call_id: str) -> None:
    drafts = schema.wrapup_drafts
    connection.execute(drafts.delete().where(drafts.c.call_id == call_id))
