"""Operations and growth figures from the stored call events (their phone-system timestamps) and dispositions,
per campaign, queue or agent over a time range; the definitions are in `definitions.py`.

One query per grouping. The events of every call offered in the range are read whole (a call that spans the end
of the range keeps its end), duplicates collapse (the same event logged twice, or by two desks of a ring-all
queue), and each call id becomes one row of facts before anything is summed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from agentdesk.metrics.definitions import Figures, MetricOptions, TimeRange
from agentdesk.metrics.facts import bookings, call_events, dispositions, referrals
from agentdesk.metrics.sql import epoch_seconds, seconds_between, whole_part

# julianday() arithmetic on SQLite is exact to about 10 µs: compare thresholds with this much slack.
EPSILON_S = 0.0005
# Ends that do not end the caller's call: another desk answered, or this desk stopped ringing.
NOT_THE_END = ("answered elsewhere", "ring no answer", "ring timeout")
# A call's events all lie within this of its offer; a wrap-up is finished within WRAPUP_SPAN of the window's end.
CALL_SPAN = timedelta(hours=12)
WRAPUP_SPAN = timedelta(days=1)


class GroupBy(StrEnum):
    CAMPAIGN = "campaign"
    QUEUE = "queue"
    AGENT = "agent"
    TOTAL = "total"


def call_facts(window: TimeRange) -> sa.Subquery:
    """One row per call offered in `window`: when it was offered, answered, abandoned, ended, wrapped up, by whom,
    its hold time and its growth outcome."""
    # Every event of the calls offered in the window lies within CALL_SPAN of it: reading by time (an index
    # range) instead of by call id keeps a refresh proportional to the window, not to the whole store. Duplicates
    # need no removal: calls take minima and maxima, hold spans are grouped by their start.
    since, until = window.start - CALL_SPAN, window.end + CALL_SPAN
    ev = call_events.alias("ev")
    ev_in_window = sa.and_(ev.c.occurred_at >= since, ev.c.occurred_at < until)
    talking = ev.c.state.in_(("talking", "held"))
    real_end = sa.and_(ev.c.state == "ended", ev.c.reason.not_in(NOT_THE_END))
    calls = (
        sa.select(
            ev.c.call_id,
            sa.func.min(ev.c.occurred_at).label("offered_at"),
            sa.func.min(sa.case((talking, ev.c.occurred_at))).label("answered_at"),
            sa.func.min(sa.case((sa.and_(ev.c.state == "ended", ev.c.reason == "abandoned"), ev.c.occurred_at))).label(
                "abandoned_at"
            ),
            sa.func.max(sa.case((real_end, ev.c.occurred_at))).label("ended_at"),
            # Any end at all, also one that did not end the caller's call (rang out, answered elsewhere).
            sa.func.max(sa.case((ev.c.state == "ended", ev.c.occurred_at))).label("closed_at"),
            sa.func.max(sa.case((sa.and_(ev.c.kind == "answered", ev.c.state == "talking"), ev.c.agent_id))).label(
                "agent_id"
            ),
            sa.func.max(ev.c.queue).label("queue"),
            sa.func.max(ev.c.campaign_code).label("campaign"),
        )
        .where(ev_in_window)
        .group_by(ev.c.call_id)
        .having(sa.func.min(ev.c.occurred_at) >= window.start, sa.func.min(ev.c.occurred_at) < window.end)
        .subquery("calls")
    )
    held, after = call_events.alias("held"), call_events.alias("after_hold")
    hold_spans = (
        sa.select(held.c.call_id, held.c.occurred_at.label("held_at"), sa.func.min(after.c.occurred_at).label("until"))
        .join(after, sa.and_(after.c.call_id == held.c.call_id, after.c.occurred_at > held.c.occurred_at))
        .where(
            held.c.state == "held",
            after.c.state.in_(("talking", "ended")),
            held.c.occurred_at >= since,
            held.c.occurred_at < until,
            after.c.occurred_at >= since,
            after.c.occurred_at < until,
        )
        .group_by(held.c.call_id, held.c.occurred_at)
        .subquery("hold_spans")
    )
    holds = (
        sa.select(
            hold_spans.c.call_id, sa.func.sum(seconds_between(hold_spans.c.until, hold_spans.c.held_at)).label("s")
        )
        .group_by(hold_spans.c.call_id)
        .subquery("holds")
    )
    outcome = dispositions.c.outcome
    # A wrap-up is finished within WRAPUP_SPAN of its call's window, or it is not counted (nor is the call's AHT).
    wrapped_in = sa.and_(
        dispositions.c.wrapup_done_at >= window.start, dispositions.c.wrapup_done_at < window.end + WRAPUP_SPAN
    )
    booked, referred = _details(bookings, wrapped_in), _details(referrals, wrapped_in)

    def growth(details: sa.Subquery, kind: str) -> sa.ColumnElement[Any]:
        # The structured rows of the disposition's current version; a disposition saved with only its outcome
        # (no details required by its campaign) still counts once.
        return sa.func.sum(sa.case((details.c.n > 0, details.c.n), (outcome == kind, 1), else_=0))

    wraps = (
        sa.select(
            dispositions.c.call_id,
            sa.func.min(dispositions.c.wrapup_done_at).label("done_at"),
            growth(booked, "booking").label("bookings"),
            growth(referred, "referral").label("referrals"),
        )
        .select_from(
            dispositions.outerjoin(booked, booked.c.disposition_id == dispositions.c.id).outerjoin(
                referred, referred.c.disposition_id == dispositions.c.id
            )
        )
        .where(wrapped_in)
        .group_by(dispositions.c.call_id)
        .subquery("wraps")
    )
    ended = calls.c.ended_at
    return (
        sa.select(
            calls,
            seconds_between(calls.c.answered_at, calls.c.offered_at).label("wait_s"),
            seconds_between(calls.c.abandoned_at, calls.c.offered_at).label("abandon_s"),
            sa.func.coalesce(holds.c.s, 0.0).label("hold_s"),
            sa.case(
                (wraps.c.done_at > ended, seconds_between(wraps.c.done_at, calls.c.answered_at)),
                else_=seconds_between(ended, calls.c.answered_at),
            ).label("handle_s"),
            wraps.c.done_at.label("wrapup_done_at"),
            sa.func.coalesce(wraps.c.bookings, 0).label("bookings"),
            sa.func.coalesce(wraps.c.referrals, 0).label("referrals"),
        )
        .select_from(calls.outerjoin(holds, holds.c.call_id == calls.c.call_id))
        .outerjoin(wraps, wraps.c.call_id == calls.c.call_id)
        .subquery("facts")
    )


def _details(table: sa.TableClause, wrapped_in: sa.ColumnElement[bool]) -> sa.Subquery:
    """How many rows of a detail table (bookings, referrals) each disposition has at its current version."""
    return (
        sa.select(table.c.disposition_id, sa.func.count().label("n"))
        .join(dispositions, dispositions.c.id == table.c.disposition_id)
        .where(table.c.version == dispositions.c.version, wrapped_in)
        .group_by(table.c.disposition_id)
        .subquery(f"{table.name}_now")
    )


def _converted(facts: sa.Subquery) -> sa.ColumnElement[bool]:
    return sa.or_(facts.c.bookings > 0, facts.c.referrals > 0)


def _sums(facts: sa.Subquery, answered_here: sa.ColumnElement[bool], options: MetricOptions) -> list[Any]:
    def count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    def total(condition: sa.ColumnElement[bool], value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.sum(sa.case((condition, value), else_=0.0))

    abandoned = sa.and_(facts.c.abandoned_at.is_not(None), facts.c.answered_at.is_(None))
    short = facts.c.abandon_s < options.short_abandon_s - EPSILON_S
    handled = sa.and_(answered_here, facts.c.ended_at.is_not(None))
    wrapped = sa.and_(handled, facts.c.wrapup_done_at.is_not(None))
    return [
        sa.func.count().label("offered"),
        count(answered_here).label("answered"),
        count(sa.and_(abandoned, sa.not_(short))).label("abandoned"),
        count(sa.and_(abandoned, short)).label("short_abandoned"),
        count(handled).label("handled"),
        total(answered_here, facts.c.wait_s).label("wait_total_s"),
        count(sa.and_(answered_here, facts.c.wait_s <= options.service_level_s + EPSILON_S)).label(
            "answered_in_service_level"
        ),
        total(handled, facts.c.hold_s).label("hold_total_s"),
        total(wrapped, facts.c.handle_s).label("handle_total_s"),
        count(wrapped).label("handle_calls"),
        total(handled, facts.c.bookings).label("bookings"),
        total(handled, facts.c.referrals).label("referrals"),
        count(sa.and_(handled, _converted(facts))).label("converted"),
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
    answered_here = facts.c.answered_at.is_not(None)
    key: sa.ColumnElement[str] = {
        GroupBy.CAMPAIGN: facts.c.campaign,
        GroupBy.QUEUE: facts.c.queue,
        GroupBy.TOTAL: sa.literal(""),
    }[group_by]
    query = sa.select(key.label("key"), *_sums(facts, answered_here, options))
    if group_by is GroupBy.TOTAL:
        return query
    return query.group_by(key).order_by(key)


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

    facts = call_facts(window)
    bucket = whole_part((epoch_seconds(facts.c.offered_at) + utc_offset_s) / width_s).label("bucket")
    abandoned = sa.and_(facts.c.abandoned_at.is_not(None), facts.c.answered_at.is_(None))
    converted = sa.and_(facts.c.ended_at.is_not(None), _converted(facts))
    query = (
        sa.select(
            bucket,
            sa.func.count().label("offered"),
            sa.func.sum(sa.case((abandoned, 1), else_=0)).label("abandoned"),
            sa.func.sum(sa.case((sa.and_(facts.c.answered_at.is_not(None), converted), 1), else_=0)).label("converted"),
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
