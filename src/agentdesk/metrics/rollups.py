"""Sums of the call summaries that a monitor refresh reads instead of every call of the day.

- call_rollups: per hour (UTC, by when the call was offered), campaign and queue, every sum of Figures that needs
  no threshold;
- call_delays: per hour, campaign and queue, how many answered calls waited `seconds` (rounded up) and how
  many abandoned calls rang `seconds` (rounded down) before the caller hung up: the service level and the short
  abandons for any whole-second threshold;
- agent_rollups: per hour and answering agent, handled calls, bookings and referrals (the board's).

summaries.py hands every summary it replaces (old and new rows) to `apply`, in the same transaction: each rollup
row gets the difference, so the rollups always equal sums over the summaries. A range that does not start and end
on a whole hour (a local day in a time zone with a half-hour offset), or a threshold that is not whole seconds, is
read from the summaries instead (`None` from the readers here).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from agentdesk.base.time import as_utc
from agentdesk.metrics.definitions import Figures, MetricOptions, TimeRange
from agentdesk.metrics.facts import (
    AGENT_COUNTS,
    ROLLUP_COUNTS,
    ROLLUP_SECONDS,
    agent_rollups,
    call_delays,
    call_rollups,
)

HOUR = timedelta(hours=1)
EPSILON_S = 0.0005  # as operations.EPSILON_S: julianday() noise on SQLite
LONGEST_WAIT_S = 3601  # waits above the longest service-level threshold are counted here
LONGEST_RING_S = 601  # the same for abandons and the longest short-abandon threshold
# The summary columns a rollup needs (what summaries.py returns for the rows it deletes and inserts).
SUMMARY_COLUMNS = (
    "offered_at", "campaign", "queue", "agent_id", "answered", "abandoned", "handled", "converted", "wait_s",
    "abandon_s", "hold_s", "handle_s", "bookings", "referrals",
)  # fmt: skip
Key = tuple[Any, ...]


def bucket(at: datetime, width: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + width * ((as_utc(at) - epoch) // width)


def apply(connection: sa.Connection, removed: Iterable[sa.RowMapping], added: Iterable[sa.RowMapping]) -> None:
    """Add the summaries `added` to the rollups and take `removed` out of them."""
    calls: dict[Key, list[float]] = defaultdict(lambda: [0.0] * (len(ROLLUP_COUNTS) + len(ROLLUP_SECONDS)))
    delays: dict[Key, int] = defaultdict(int)
    agents: dict[Key, list[int]] = defaultdict(lambda: [0] * len(AGENT_COUNTS))
    for sign, rows in ((-1, removed), (1, added)):
        for row in rows:
            hour = bucket(row["offered_at"], HOUR)
            place = (hour, row["campaign"] or "", row["queue"] or "")
            handle_s = row["handle_s"]
            values = (
                1,
                row["answered"],
                row["abandoned"],
                row["handled"],
                0 if handle_s is None else 1,
                row["bookings"],
                row["referrals"],
                row["converted"],
                row["wait_s"] or 0.0,
                row["hold_s"] or 0.0,
                handle_s or 0.0,
            )  # fmt: skip  (the order of ROLLUP_COUNTS, then ROLLUP_SECONDS)
            sums = calls[place]
            for index, value in enumerate(values):
                sums[index] += sign * value
            if row["answered"] and row["wait_s"] is not None:
                seconds = min(math.ceil(row["wait_s"] - EPSILON_S), LONGEST_WAIT_S)
                delays[(*place, "wait", max(seconds, 0))] += sign
            if row["abandoned"] and row["abandon_s"] is not None:
                seconds = min(math.floor(row["abandon_s"] + EPSILON_S), LONGEST_RING_S)
                delays[(*place, "abandon", max(seconds, 0))] += sign
            if row["agent_id"]:
                counts = agents[(hour, row["agent_id"])]
                for index, name in enumerate(AGENT_COUNTS):
                    counts[index] += sign * row[name]
    names = (*ROLLUP_COUNTS, *ROLLUP_SECONDS)
    _add(
        connection,
        call_rollups,
        ("bucket_start", "campaign", "queue"),
        [
            {"bucket_start": k[0], "campaign": k[1], "queue": k[2]}
            | {n: (v if n in ROLLUP_SECONDS else round(v)) for n, v in zip(names, sums, strict=True)}
            for k, sums in calls.items()
        ],
        names,
    )
    _add(
        connection,
        call_delays,
        ("bucket_start", "campaign", "queue", "kind", "seconds"),
        [dict(zip(("bucket_start", "campaign", "queue", "kind", "seconds"), k, strict=True)) | {"calls": n}
         for k, n in delays.items() if n],
        ("calls",),
    )  # fmt: skip
    _add(
        connection,
        agent_rollups,
        ("bucket_start", "agent_id"),
        [{"bucket_start": k[0], "agent_id": k[1]} | dict(zip(AGENT_COUNTS, v, strict=True)) for k, v in agents.items()],
        AGENT_COUNTS,
    )


def _add(
    connection: sa.Connection,
    table: sa.TableClause,
    keys: tuple[str, ...],
    rows: list[dict[str, Any]],
    sums: Iterable[str],
) -> None:
    """Upsert: a new key is inserted, an existing one gets the values added (the same SQL on both databases)."""
    if not rows:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(table)
    statement = insert.on_conflict_do_update(
        index_elements=list(keys), set_={name: table.c[name] + insert.excluded[name] for name in sums}
    )
    connection.execute(statement, rows)


def _aligned(window: TimeRange, width: timedelta) -> bool:
    return bucket(window.start, width) == window.start and bucket(window.end, width) == window.end


def _whole(seconds: float) -> bool:
    return float(seconds).is_integer()


def read_figures(
    connection: sa.Connection, window: TimeRange, options: MetricOptions
) -> tuple[list[Figures], list[Figures], Figures] | None:
    """(per campaign, per queue, total) over `window` from the rollups; None when they cannot say (see above)."""
    if not (_aligned(window, HOUR) and _whole(options.service_level_s) and _whole(options.short_abandon_s)):
        return None
    inside = sa.and_(call_rollups.c.bucket_start >= window.start, call_rollups.c.bucket_start < window.end)
    place = (call_rollups.c.campaign, call_rollups.c.queue)
    sums = connection.execute(
        sa.select(*place, *[sa.func.sum(call_rollups.c[n]).label(n) for n in (*ROLLUP_COUNTS, *ROLLUP_SECONDS)])
        .where(inside)
        .group_by(*place)
    ).mappings()
    d = call_delays
    delays = connection.execute(
        sa.select(
            d.c.campaign,
            d.c.queue,
            sa.func.sum(
                sa.case((sa.and_(d.c.kind == "wait", d.c.seconds <= options.service_level_s), d.c.calls), else_=0)
            ).label("in_service_level"),
            sa.func.sum(
                sa.case((sa.and_(d.c.kind == "abandon", d.c.seconds < options.short_abandon_s), d.c.calls), else_=0)
            ).label("short"),
        )
        .where(d.c.bucket_start >= window.start, d.c.bucket_start < window.end)
        .group_by(d.c.campaign, d.c.queue)
    ).all()
    thresholds = {(c, q): (int(s or 0), int(a or 0)) for c, q, s, a in delays}
    campaigns: dict[str, Figures] = {}
    queues: dict[str, Figures] = {}
    total = Figures(key="")
    for row in sums:
        if not row["offered"]:
            continue  # every call of this place moved elsewhere (a rollup row left at zero)
        in_level, short = thresholds.get((row["campaign"], row["queue"]), (0, 0))
        part = Figures(
            key="",
            offered=int(row["offered"]),
            answered=int(row["answered"]),
            abandoned=int(row["abandoned"]) - short,
            short_abandoned=short,
            handled=int(row["handled"]),
            wait_total_s=round(float(row["wait_total_s"]), 3),
            answered_in_service_level=in_level,
            hold_total_s=round(float(row["hold_total_s"]), 3),
            handle_total_s=round(float(row["handle_total_s"]), 3),
            handle_calls=int(row["handle_calls"]),
            bookings=int(row["bookings"]),
            referrals=int(row["referrals"]),
            converted=int(row["converted"]),
        )
        total = total.plus(part)
        for groups, name in ((campaigns, str(row["campaign"])), (queues, str(row["queue"]))):
            groups[name] = groups[name].plus(part) if name in groups else replace(part, key=name)
    return [campaigns[k] for k in sorted(campaigns)], [queues[k] for k in sorted(queues)], total


def read_agent_counts(connection: sa.Connection, window: TimeRange) -> dict[str, tuple[int, int, int]] | None:
    """Per answering agent: handled calls, bookings, referrals over `window` (None: not on whole hours)."""
    if not _aligned(window, HOUR):
        return None
    a = agent_rollups
    rows = connection.execute(
        sa.select(a.c.agent_id, *[sa.func.sum(a.c[n]).label(n) for n in AGENT_COUNTS])
        .where(a.c.bucket_start >= window.start, a.c.bucket_start < window.end)
        .group_by(a.c.agent_id)
    ).all()
    return {str(agent): (int(handled), int(booked), int(referred)) for agent, handled, booked, referred in rows}


def read_series(
    connection: sa.Connection, window: TimeRange, width_s: int, utc_offset_s: int
) -> list[tuple[datetime, int, int, int]] | None:
    """As operations.interval_series, from the rollups (None: the intervals do not fall on whole hours)."""
    if not _aligned(window, HOUR) or width_s % 3600 or utc_offset_s % 3600:
        return None
    r = call_rollups
    rows = connection.execute(
        sa.select(r.c.bucket_start, sa.func.sum(r.c.offered), sa.func.sum(r.c.abandoned), sa.func.sum(r.c.converted))
        .where(r.c.bucket_start >= window.start, r.c.bucket_start < window.end)
        .group_by(r.c.bucket_start)
    ).all()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    points: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for start, offered, abandoned, converted in rows:
        index = (int((as_utc(start) - epoch).total_seconds()) + utc_offset_s) // width_s
        for position, value in enumerate((offered, abandoned, converted)):
            points[index][position] += int(value or 0)
    return [
        (epoch + timedelta(seconds=index * width_s - utc_offset_s), *values)  # type: ignore[misc]
        for index, values in sorted(points.items())
        if values[0]
    ]
