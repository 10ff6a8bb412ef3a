"""Keeps call_summaries (one row per call) equal to what the call's stored facts say; every metric reads it.

The store's triggers queue the id of every call whose events, dispositions, bookings or referrals changed
(call_summary_changes). `bring_up_to_date` consumes the queue: it takes exactly the entries it read, recomputes
those calls from all of their facts, and removes only those entries; an entry queued meanwhile stays for the next
refresh, so a change is never lost, and a call recomputed twice is harmless.

A call's summary, from its events (their phone-system timestamps) and dispositions (see definitions.py):
offered = its first event; answered = its first talking or held event; abandoned = its first end with reason
'abandoned'; ended = its last end that ended the caller's call; closed = its last end of any kind; the agent who
answered; hold = each hold until the next resume or end; the wrap-up = the first disposition's wrap-up done; the
bookings and referrals of its dispositions at their current version.

Besides those facts, each row carries what the call adds to each sum of definitions.py, so a refresh sums columns:
answered, abandoned (never answered), handled (answered and ended), converted (handled, with a booking or a
referral) as 1 or 0; wait (answered calls); hold, bookings and referrals (handled calls, else 0); handle time
(handled calls whose wrap-up is finished, else NULL).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from agentdesk.metrics import rollups
from agentdesk.metrics.facts import bookings, call_events, call_summaries, call_summary_changes, dispositions, referrals
from agentdesk.metrics.sql import seconds_between

log = logging.getLogger("agentdesk.metrics")
# Ends that do not end the caller's call: another desk answered, or this desk stopped ringing.
NOT_THE_END = ("answered elsewhere", "ring no answer", "ring timeout")
# Calls recomputed per statement (bound parameters stay well under SQLite's and PostgreSQL's limits).
CHUNK = 2000
CURRENT_IN = "agentdesk.summaries_current_in"  # connection.info: the transaction they were brought up to date in
COLUMNS = (
    "call_id", "offered_at", "answered_at", "abandoned_at", "ended_at", "closed_at", "agent_id", "queue", "campaign",
    "answered", "abandoned", "handled", "converted", "wait_s", "abandon_s", "hold_s", "handle_s", "wrapup_done_at",
    "bookings", "referrals",
)  # fmt: skip


def summary_query(call_ids: Sequence[str]) -> sa.Select[Any]:
    """One summary row per call id that has events (a call without events has no summary)."""
    return _summaries(lambda events: events.c.call_id.in_(call_ids), dispositions.c.call_id.in_(call_ids))


def summaries_from_events(since: datetime, until: datetime) -> sa.Select[Any]:
    """The summaries of the calls with events in [since, until), computed from the events alone: how metrics
    were read before call_summaries existed (benchmarks/monitor_refresh.py measures both paths side by side)."""
    return _summaries(lambda events: sa.and_(events.c.occurred_at >= since, events.c.occurred_at < until))


def _summaries(
    scope: Callable[[Any], sa.ColumnElement[bool]], wrapped: sa.ColumnElement[bool] | None = None
) -> sa.Select[Any]:
    """`scope` picks the events of the calls to summarise; `wrapped` their dispositions (default: by call id)."""
    ev = call_events.alias("ev")
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
            sa.func.max(sa.case((ev.c.state == "ended", ev.c.occurred_at))).label("closed_at"),
            sa.func.max(sa.case((sa.and_(ev.c.kind == "answered", ev.c.state == "talking"), ev.c.agent_id))).label(
                "agent_id"
            ),
            sa.func.max(ev.c.queue).label("queue"),
            sa.func.max(ev.c.campaign_code).label("campaign"),
        )
        .where(scope(ev))
        .group_by(ev.c.call_id)
        .subquery("calls")
    )
    # Duplicated events need no removal: calls take minima and maxima, hold spans are grouped by their start.
    held, after = call_events.alias("held"), call_events.alias("after_hold")
    hold_spans = (
        sa.select(held.c.call_id, held.c.occurred_at.label("held_at"), sa.func.min(after.c.occurred_at).label("until"))
        .join(after, sa.and_(after.c.call_id == held.c.call_id, after.c.occurred_at > held.c.occurred_at))
        .where(scope(held), scope(after), held.c.state == "held", after.c.state.in_(("talking", "ended")))
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
    ours = dispositions.c.call_id.in_(sa.select(calls.c.call_id)) if wrapped is None else wrapped
    booked, referred = _details(bookings, ours), _details(referrals, ours)
    outcome = dispositions.c.outcome

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
        .where(ours)
        .group_by(dispositions.c.call_id)
        .subquery("wraps")
    )
    ended = calls.c.ended_at
    answered = calls.c.answered_at.is_not(None)
    handled = sa.and_(answered, ended.is_not(None))
    bookings_made = sa.func.coalesce(wraps.c.bookings, 0)
    referrals_made = sa.func.coalesce(wraps.c.referrals, 0)

    def flag(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.case((condition, 1), else_=0)

    return (
        sa.select(
            calls.c.call_id,
            calls.c.offered_at,
            calls.c.answered_at,
            calls.c.abandoned_at,
            calls.c.ended_at,
            calls.c.closed_at,
            calls.c.agent_id,
            sa.func.coalesce(calls.c.queue, "").label("queue"),
            sa.func.coalesce(calls.c.campaign, "").label("campaign"),
            flag(answered).label("answered"),
            flag(sa.and_(calls.c.abandoned_at.is_not(None), calls.c.answered_at.is_(None))).label("abandoned"),
            flag(handled).label("handled"),
            flag(sa.and_(handled, sa.or_(bookings_made > 0, referrals_made > 0))).label("converted"),
            seconds_between(calls.c.answered_at, calls.c.offered_at).label("wait_s"),
            seconds_between(calls.c.abandoned_at, calls.c.offered_at).label("abandon_s"),
            sa.case((handled, sa.func.coalesce(holds.c.s, 0.0)), else_=0.0).label("hold_s"),
            sa.case(
                (sa.and_(handled, wraps.c.done_at > ended), seconds_between(wraps.c.done_at, calls.c.answered_at)),
                (sa.and_(handled, wraps.c.done_at.is_not(None)), seconds_between(ended, calls.c.answered_at)),
            ).label("handle_s"),
            wraps.c.done_at.label("wrapup_done_at"),
            sa.case((handled, bookings_made), else_=0).label("bookings"),
            sa.case((handled, referrals_made), else_=0).label("referrals"),
        )
        .select_from(calls.outerjoin(holds, holds.c.call_id == calls.c.call_id))
        .outerjoin(wraps, wraps.c.call_id == calls.c.call_id)
    )


def _details(table: sa.TableClause, ours: sa.ColumnElement[bool]) -> sa.Subquery:
    """How many rows of a detail table (bookings, referrals) each disposition has at its current version."""
    return (
        sa.select(table.c.disposition_id, sa.func.count().label("n"))
        .join(dispositions, dispositions.c.id == table.c.disposition_id)
        .where(table.c.version == dispositions.c.version, ours)
        .group_by(table.c.disposition_id)
        .subquery(f"{table.name}_now")
    )


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def recompute(connection: sa.Connection, call_ids: list[str]) -> None:
    """Replace these calls' summaries with what their facts say now."""
    returned = [call_summaries.c[name] for name in rollups.SUMMARY_COLUMNS]
    for chunk in _chunks(sorted(set(call_ids))):
        # The rows actually replaced, as they were and as they are: the rollups get exactly the difference.
        removed = connection.execute(
            call_summaries.delete().where(call_summaries.c.call_id.in_(chunk)).returning(*returned)
        ).mappings()
        old = list(removed)
        added = connection.execute(
            call_summaries.insert().from_select(COLUMNS, summary_query(chunk)).returning(*returned)
        ).mappings()
        rollups.apply(connection, old, list(added))


def bring_up_to_date(connection: sa.Connection) -> int:
    """Recompute every queued call (in the caller's transaction: commit it to keep the work); returns how many.
    On PostgreSQL a reader racing another one for the same call gives way (a savepoint): the other one wrote the
    same summary."""
    transaction = connection.get_transaction()
    if transaction is not None and connection.info.get(CURRENT_IN) is transaction:
        return 0  # done already in this transaction: every figure of one refresh reads the same summaries
    queued = connection.execute(sa.select(call_summary_changes.c.id, call_summary_changes.c.call_id)).all()
    connection.info[CURRENT_IN] = connection.get_transaction()
    if not queued:
        return 0
    call_ids = [str(call_id) for _, call_id in queued]
    if connection.dialect.name != "postgresql":
        _consume(connection, call_ids, [int(entry) for entry, _ in queued])
        return len(set(call_ids))
    try:
        with connection.begin_nested():
            _consume(connection, call_ids, [int(entry) for entry, _ in queued])
    except sa.exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise
        log.info("call summaries were being brought up to date by another reader (%s)", type(exc.orig).__name__)
    return len(set(call_ids))


def _consume(connection: sa.Connection, call_ids: list[str], entries: list[int]) -> None:
    recompute(connection, call_ids)
    for chunk in _chunks(entries):
        connection.execute(call_summary_changes.delete().where(call_summary_changes.c.id.in_(chunk)))
