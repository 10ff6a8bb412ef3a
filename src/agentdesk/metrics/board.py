"""The live board of the team monitor: each agent's state and time in it, the current call, today's handled
calls, bookings and referrals; each queue's longest waiting caller. Read from stored facts (no Qt)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from agentdesk.base.time import as_utc
from agentdesk.metrics.definitions import Figures, MetricOptions, TimeRange
from agentdesk.metrics.facts import agent_states
from agentdesk.metrics.operations import call_facts, day_figures
from agentdesk.metrics.summaries import bring_up_to_date

# An agent whose last state began longer ago than this has gone home without logging off: shown as unknown.
STALE_STATE = timedelta(hours=14)
# States are read from this long before a window (one state lasting longer is clipped there).
LONGEST_STATE = timedelta(days=1)
# A ringing call older than this lost its end event: not a caller still waiting.
LOST_RING = timedelta(hours=1)


@dataclass(frozen=True)
class AgentRow:
    agent_id: str
    state: str | None  # available, not_ready, on_call, wrap_up; None = unknown (no state, or a stale one)
    reason: str
    since: datetime | None
    call_campaign: str | None  # the call the agent is on now (answered, not ended)
    call_since: datetime | None
    handled: int
    bookings: int
    referrals: int
    occupancy: float | None


@dataclass(frozen=True)
class Board:
    agents: list[AgentRow]
    longest_wait_s: dict[str, float]  # queue -> seconds the longest waiting caller has waited (ringing now)
    read_at: datetime


def read_board(
    connection: sa.Connection,
    today: TimeRange,
    now: datetime,
    agent_ids: list[str] | None = None,
    counts: dict[str, tuple[int, int, int]] | None = None,
) -> Board:
    """The board at `now` over `today` (its figures) for the given agents (all agents seen when None);
    `counts` = today's (handled, bookings, referrals) per answering agent when the caller has them."""
    bring_up_to_date(connection)
    latest = (
        sa.select(agent_states.c.agent_id, sa.func.max(agent_states.c.started_at).label("started_at"))
        .where(agent_states.c.started_at <= now, agent_states.c.started_at > now - STALE_STATE)
        .group_by(agent_states.c.agent_id)
        .subquery("latest")
    )
    states = connection.execute(
        sa.select(agent_states.c.agent_id, agent_states.c.state, agent_states.c.reason, agent_states.c.started_at).join(
            latest,
            sa.and_(latest.c.agent_id == agent_states.c.agent_id, latest.c.started_at == agent_states.c.started_at),
        )
    ).all()
    current: dict[str, tuple[str | None, str, datetime | None]] = {}
    for agent_id, state, reason, started in states:
        began = as_utc(started)
        current[agent_id] = (None, "", None) if now - began > STALE_STATE else (state, reason, began)

    if counts is None:
        counts = answered_counts(day_figures(connection, today, MetricOptions()).answered_by)
    facts = call_facts(today)
    live = connection.execute(
        sa.select(facts.c.agent_id, facts.c.campaign, facts.c.answered_at)
        .where(facts.c.answered_at.is_not(None), facts.c.ended_at.is_(None), facts.c.answered_at <= now)
        .order_by(facts.c.answered_at)
    ).all()
    on_call: dict[str, tuple[str | None, datetime | None]] = {
        str(a): (str(c or ""), as_utc(t)) for a, c, t in live
    }  # the latest answered call wins
    ringing = connection.execute(
        sa.select(facts.c.queue, sa.func.min(facts.c.offered_at))
        .where(
            facts.c.answered_at.is_(None),
            facts.c.ended_at.is_(None),  # implied by the next; lets the index of calls still going serve
            facts.c.closed_at.is_(None),
            facts.c.offered_at > now - LOST_RING,
            facts.c.offered_at <= now,
        )
        .group_by(facts.c.queue)
    ).all()
    waits = {str(q or ""): max((now - as_utc(t)).total_seconds(), 0.0) for q, t in ringing}
    occupancy = agent_occupancy(connection, today, now)

    ids = agent_ids if agent_ids is not None else sorted(set(current) | set(counts) | set(on_call))
    rows = []
    for agent_id in ids:
        state, reason, since = current.get(agent_id, (None, "", None))
        campaign, call_since = on_call.get(agent_id, (None, None))
        handled, bookings, referrals = counts.get(agent_id, (0, 0, 0))
        rows.append(
            AgentRow(
                agent_id, state, reason, since, campaign, call_since, handled, bookings, referrals,
                occupancy.get(agent_id),
            )
        )  # fmt: skip
    return Board(rows, waits, now)


def agent_occupancy(connection: sa.Connection, window: TimeRange, now: datetime) -> dict[str, float | None]:
    """Per agent: time On Call and in Wrap-up / time logged in and not Not Ready, within the window (a state
    still open counts up to `now`)."""
    from agentdesk.metrics.sql import seconds_between

    end = min(window.end, now)
    open_end = sa.func.coalesce(agent_states.c.ended_at, sa.literal(end, agent_states.c.started_at.type))
    clipped_end = sa.case((open_end > end, sa.literal(end, agent_states.c.started_at.type)), else_=open_end)
    clipped_start = sa.case(
        (agent_states.c.started_at < window.start, sa.literal(window.start, agent_states.c.started_at.type)),
        else_=agent_states.c.started_at,
    )
    seconds = seconds_between(clipped_end, clipped_start)
    busy = agent_states.c.state.in_(("on_call", "wrap_up"))
    working = agent_states.c.state.in_(("on_call", "wrap_up", "available"))
    rows = connection.execute(
        sa.select(
            agent_states.c.agent_id,
            sa.func.sum(sa.case((busy, seconds), else_=0.0)),
            sa.func.sum(sa.case((working, seconds), else_=0.0)),
        )
        .where(
            agent_states.c.started_at < end,
            agent_states.c.started_at >= window.start - LONGEST_STATE,
            open_end > window.start,
        )
        .group_by(agent_states.c.agent_id)
    ).all()
    return {str(a): (float(b or 0) / float(w) if w and float(w) > 0.5 else None) for a, b, w in rows}


def answered_counts(answered_by: dict[str, Figures]) -> dict[str, tuple[int, int, int]]:
    return {agent: (row.handled, row.bookings, row.referrals) for agent, row in answered_by.items()}


def changed_rows(previous: list[AgentRow], current: list[AgentRow]) -> tuple[int, ...] | None:
    """The rows of `current` that differ from `previous`; None when the agents themselves changed (added,
    removed, reordered): then the whole grid is new."""
    if [row.agent_id for row in previous] != [row.agent_id for row in current]:
        return None
    return tuple(index for index, (old, new) in enumerate(zip(previous, current, strict=True)) if old != new)
