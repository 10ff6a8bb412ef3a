"""Script runs in the store: the rows one run becomes, and the funnel's facts read back (SQLite or PostgreSQL)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from agentdesk.campaigns.funnel import RunFacts
from agentdesk.campaigns.runner import ScriptRun
from agentdesk.store import schema


@dataclass(frozen=True)
class RunOutcome:
    """What the call was wrapped up as (the saved disposition), stored beside the run."""

    disposition_code: str = ""
    outcome: str = ""


def run_rows(
    run: ScriptRun, call_id: str, agent_id: str, stored_at: datetime, result: RunOutcome | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """The run and its events as (table, row) pairs for the store's single writer (one transaction)."""
    result = result or RunOutcome()
    rows: list[tuple[str, dict[str, Any]]] = [
        (
            "script_runs",
            {
                "id": run.id,
                "call_id": call_id,
                "agent_id": agent_id,
                "campaign_code": run.script.campaign.code,
                "script_id": run.script.script.id,
                "script_version": run.script.script.version,
                "started_at": run.started_at or stored_at,
                "stored_at": stored_at,
                "last_step": run.step.id,
                "finished": run.finished,
                "path": " ".join(run.path),
                "suggested_disposition": run.suggested_disposition,
                "disposition_code": result.disposition_code,
                "outcome": result.outcome,
            },
        )
    ]
    for event in run.events:
        rows.append(
            (
                "script_run_events",
                {
                    "id": str(uuid.uuid5(uuid.UUID(run.id), str(event.seq))),  # the same id on every retry
                    "run_id": run.id,
                    "seq": event.seq,
                    "kind": event.kind,
                    "step_id": event.step_id,
                    "value": event.value,
                    "at": event.at,
                },
            )
        )
    return rows


def read_run_facts(connection: sa.Connection, start: datetime, end: datetime) -> list[RunFacts]:
    """Runs started in [start, end), with the steps each reached and answered."""
    runs = schema.script_runs
    events = schema.script_run_events
    selected = (
        sa.select(runs.c.id, runs.c.script_id, runs.c.script_version, runs.c.path, runs.c.finished, runs.c.outcome)
        .where(runs.c.started_at >= start, runs.c.started_at < end)
        .order_by(runs.c.started_at)
    )
    rows = connection.execute(selected).all()
    reached: dict[str, set[str]] = {}
    answered: dict[str, set[str]] = {}
    ids = [row.id for row in rows]
    for chunk in range(0, len(ids), 500):  # bounded IN lists: SQLite limits bound parameters
        query = sa.select(events.c.run_id, events.c.kind, events.c.step_id).where(
            events.c.run_id.in_(ids[chunk : chunk + 500]), events.c.kind.in_(("reached", "answered"))
        )
        for run_id, kind, step_id in connection.execute(query):
            (reached if kind == "reached" else answered).setdefault(run_id, set()).add(step_id)
    return [
        RunFacts(
            script_id=row.script_id,
            script_version=int(row.script_version),
            path=tuple(str(row.path).split()),
            finished=bool(row.finished),
            outcome=str(row.outcome or ""),
            reached=frozenset(reached.get(row.id, ())),
            answered=frozenset(answered.get(row.id, ())),
        )
        for row in rows
    ]
