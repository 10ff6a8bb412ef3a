"""Operations and growth figures from the stored call events (their phone-system timestamps) and dispositions,
per campaign, queue or agent over a time range; the definitions are in `definitions.py`.

One query per grouping over the calls' summaries (one row per call, kept current from the events and dispositions
by summaries.py: duplicates collapsed, a call that spans the end of the range keeps its end).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from agentdesk.metrics.definitions import Figures, MetricOptions, TimeRange
from agentdesk.metrics.facts import call_events, call_summaries, script_runs
from agentdesk.metrics.sql import epoch_seconds, whole_part
from agentdesk.metrics.summaries import bring_up_to_date

# julianday() arithmetic on SQLite is exact to about 10 µs: compare thresholds with this much slack.
EPSILON_S = 0.0005


class GroupBy(StrEnum):
    CAMPAIGN = "campaign"
    QUEUE = "queue"
    AGENT = "agent"
    SCRIPT = "script"  # per script version ("script-id v3"): the calls a run of it guided
    TOTAL = "total"


def call_facts(window: TimeRange) -> sa.Subquery:
    """One row per call offered in `window` (its summary: see summaries.py); the caller brings the summaries up to
    date first (`bring_up_to_date`)."""
    return (
        sa.select(call_summaries)
        .where(call_summaries.c.offered_at >= window.start, call_summaries.c.offered_at < window.end)
        .subquery("facts")
    )


def _sums(facts: sa.Subquery, answered_here: sa.ColumnElement[bool] | None, options: MetricOptions) -> list[Any]:
    """The sums of Figures over the calls' contributions (see summaries.py); `answered_here` narrows what answering
    adds to the calls the grouped agent answered (per agent: a ring-all call was offered to several)."""

    def mine(value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return value if answered_here is None else sa.case((answered_here, value), else_=None)

    def count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    short = facts.c.abandon_s < options.short_abandon_s - EPSILON_S
    abandoned = facts.c.abandoned == 1
    return [
        sa.func.count().label("offered"),
        sa.func.sum(mine(facts.c.answered)).label("answered"),
        count(sa.and_(abandoned, sa.not_(short))).label("abandoned"),
        count(sa.and_(abandoned, short)).label("short_abandoned"),
        sa.func.sum(mine(facts.c.handled)).label("handled"),
        sa.func.sum(mine(facts.c.wait_s)).label("wait_total_s"),
        sa.func.sum(mine(sa.case((facts.c.wait_s <= options.service_level_s + EPSILON_S, 1), else_=0))).label(
            "answered_in_service_level"
        ),
        sa.func.sum(mine(facts.c.hold_s)).label("hold_total_s"),
        sa.func.sum(mine(facts.c.handle_s)).label("handle_total_s"),
        sa.func.count(mine(facts.c.handle_s)).label("handle_calls"),
        sa.func.sum(mine(facts.c.bookings)).label("bookings"),
        sa.func.sum(mine(facts.c.referrals)).label("referrals"),
        sa.func.sum(mine(facts.c.converted)).label("converted"),
    ]


def figures_query(window: TimeRange, group_by: GroupBy, options: MetricOptions) -> sa.Select[Any]:
    """The SELECT of one Figures row per key (campaign code, queue, agent id, or '' for the total)."""
    facts = call_facts(window)
    if group_by is GroupBy.AGENT:
        # A call counts for every agent it rang at (ring-all: offered to each); answered only for the one who took it.
        rang = (
            sa.select(call_events.c.call_id, call_events.c.agent_id)
            .distinct()
            .where(call_events.c.call_id.in_(sa.select(facts.c.call_id)), call_events.c.agent_id != "")
            .subquery("rang")
        )
        answered_here = facts.c.agent_id == rang.c.agent_id
        return (
            sa.select(rang.c.agent_id.label("key"), *_sums(facts, answered_here, options))
            .select_from(facts.join(rang, rang.c.call_id == facts.c.call_id))
            .group_by(rang.c.agent_id)
            .order_by(rang.c.agent_id)
        )
    if group_by is GroupBy.SCRIPT:
        runs = (
            sa.select(script_runs.c.call_id, script_runs.c.script_id, script_runs.c.script_version)
            .distinct()
            .subquery("runs")
        )
        version = runs.c.script_id + " v" + sa.cast(runs.c.script_version, sa.String)
        return (
            sa.select(version.label("key"), *_sums(facts, None, options))
            .select_from(facts.join(runs, runs.c.call_id == facts.c.call_id))
            .group_by(version)
            .order_by(version)
        )
    key: sa.ColumnElement[str] = {
        GroupBy.CAMPAIGN: facts.c.campaign,
        GroupBy.QUEUE: facts.c.queue,
        GroupBy.TOTAL: sa.literal(""),
    }[group_by]
    query = sa.select(key.label("key"), *_sums(facts, None, options))
    if group_by is GroupBy.TOTAL:
        return query
    return query.group_by(key).order_by(key)


@dataclass(frozen=True)
class DayFigures:
    """Every figure of one range from one scan of its calls: per campaign, per queue, in total, and each answering
    agent's handled calls, bookings and referrals (the board's)."""

    campaigns: list[Figures]
    queues: list[Figures]
    total: Figures
    answered_by: dict[str, Figures]


def day_figures(connection: sa.Connection, window: TimeRange, options: MetricOptions) -> DayFigures:
    """The sums per (campaign, queue, answering agent) in one query, folded here: every figure is a sum, so the
    coarser groups add up exactly (a refresh scans the calls once instead of once per grouping)."""
    bring_up_to_date(connection)
    facts = call_facts(window)
    keys = (facts.c.campaign, facts.c.queue, facts.c.agent_id)
    query = sa.select(*keys, sa.literal("").label("key"), *_sums(facts, None, options))
    campaigns: dict[str, Figures] = {}
    queues: dict[str, Figures] = {}
    agents: dict[str, Figures] = {}
    total = Figures(key="")
    for row in connection.execute(query.group_by(*keys)).mappings():
        part = _figures(row)
        total = total.plus(part)
        for groups, key in ((campaigns, row["campaign"]), (queues, row["queue"]), (agents, row["agent_id"])):
            if groups is agents and key is None:
                continue  # nobody answered
            name = str(key or "")
            groups[name] = groups[name].plus(part) if name in groups else replace(part, key=name)
    return DayFigures(
        [campaigns[k] for k in sorted(campaigns)], [queues[k] for k in sorted(queues)], total, agents
    )  # fmt: skip


def _figures(row: sa.RowMapping) -> Figures:
    def integer(name: str) -> int:
        return int(row[name] or 0)

    def seconds(name: str) -> float:
        return round(float(row[name] or 0.0), 3)  # to the millisecond: drops julianday()'s rounding noise

    return Figures(
        key=str(row["key"] or ""),
        offered=integer("offered"),
        answered=integer("answered"),
        abandoned=integer("abandoned"),
        short_abandoned=integer("short_abandoned"),
        handled=integer("handled"),
        wait_total_s=seconds("wait_total_s"),
        answered_in_service_level=integer("answered_in_service_level"),
        hold_total_s=seconds("hold_total_s"),
        handle_total_s=seconds("handle_total_s"),
        handle_calls=integer("handle_calls"),
        bookings=integer("bookings"),
        referrals=integer("referrals"),
        converted=integer("converted"),
    )


def figures(
    connection: sa.Connection, window: TimeRange, group_by: GroupBy, options: MetricOptions | None = None
) -> list[Figures]:
    """Figures per key, sorted by key; for GroupBy.TOTAL exactly one row (all zero when nothing was offered)."""
    bring_up_to_date(connection)
    rows = connection.execute(figures_query(window, group_by, options or MetricOptions())).mappings().all()
    return [_figures(row) for row in rows]


def totals(connection: sa.Connection, window: TimeRange, options: MetricOptions | None = None) -> Figures:
    (row,) = figures(connection, window, GroupBy.TOTAL, options)
    return row


def interval_series(
    connection: sa.Connection, window: TimeRange, width_s: int, utc_offset_s: int = 0
) -> list[tuple[datetime, int, int, int]]:
    """(interval start in UTC, offered, abandoned, converted) per interval of `width_s` seconds that had calls;
    intervals are aligned to the local clock given by `utc_offset_s` (days start at local midnight)."""
    from datetime import UTC, timedelta

    bring_up_to_date(connection)
    facts = call_facts(window)
    bucket = whole_part((epoch_seconds(facts.c.offered_at) + utc_offset_s) / width_s).label("bucket")
    query = (
        sa.select(
            bucket,
            sa.func.count().label("offered"),
            sa.func.sum(facts.c.abandoned).label("abandoned"),
            sa.func.sum(facts.c.converted).label("converted"),
        )
        .group_by(bucket)
        .order_by(bucket)
    )
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return [
        (
            epoch + timedelta(seconds=int(row.bucket) * width_s - utc_offset_s),
            int(row.offered),
            int(row.abandoned or 0),
            int(row.converted or 0),
        )
        for row in connection.execute(query)
    ]
