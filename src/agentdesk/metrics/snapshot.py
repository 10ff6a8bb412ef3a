"""One full refresh of the team monitor: the board, today's figures per campaign and queue and in total, and the
chart series of the chosen period, read in one transaction (every figure of one refresh sees the same data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa

from agentdesk.metrics import rollups
from agentdesk.metrics.board import Board, answered_counts, read_board
from agentdesk.metrics.definitions import Figures, MetricOptions, TimeRange
from agentdesk.metrics.growth import GrowthView
from agentdesk.metrics.operations import GroupBy, day_figures, figures, interval_series
from agentdesk.metrics.report import read_growth
from agentdesk.metrics.summaries import bring_up_to_date


class Period(StrEnum):
    TODAY = "today"
    WEEK = "7 days"
    MONTH = "30 days"


@dataclass(frozen=True)
class Series:
    """Calls per interval of the chosen period (interval start in UTC, offered, abandoned, converted)."""

    width_s: int
    points: list[tuple[datetime, int, int, int]]


@dataclass(frozen=True)
class Snapshot:
    read_at: datetime
    board: Board
    total: Figures
    campaigns: list[Figures]
    queues: list[Figures]
    series: Series
    period_campaigns: list[Figures]  # conversions per campaign over the chosen period
    # The grid rows that differ from the previous snapshot the feed delivered (None: all of them).
    changed_agents: tuple[int, ...] | None = None
    growth: GrowthView | None = None  # over the chosen period; None when not read with this snapshot


def local_midnight(now: datetime) -> datetime:
    """The start of the local day `now` is in (the monitor's 'today'), in UTC."""
    local = now.astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(now.tzinfo)


def period_range(period: Period | TimeRange, now: datetime) -> tuple[TimeRange, int]:
    """The period's range (ending at the end of today; a custom range as given) and its chart interval in seconds
    (hours over up to two days, else days)."""
    if isinstance(period, TimeRange):
        return period, 3600 if period.end - period.start <= timedelta(days=2) else 86400
    start = local_midnight(now)
    end = start + timedelta(days=1)
    if period is Period.TODAY:
        return TimeRange(start, end), 3600
    days = 7 if period is Period.WEEK else 30
    return TimeRange(start - timedelta(days=days - 1), end), 86400


def read_snapshot(
    connection: sa.Connection,
    now: datetime,
    options: MetricOptions,
    period: Period | TimeRange = Period.TODAY,
    agent_ids: list[str] | None = None,
    service_lines: dict[str, str] | None = None,
) -> Snapshot:
    """Every figure at `now`; the growth section too when `service_lines` is given (campaign -> service line)."""
    if connection.dialect.name == "postgresql":
        # Compiling these aggregates (JIT) costs more than running them at the monitor's sizes.
        connection.execute(sa.text("SET LOCAL jit = off"))
    today = TimeRange(local_midnight(now), local_midnight(now) + timedelta(days=1))
    window, width = period_range(period, now)
    offset = int(now.astimezone().utcoffset().total_seconds())  # type: ignore[union-attr]
    bring_up_to_date(connection)
    # The rollups when the ranges fall on whole hours (every whole-hour time zone), else the summaries.
    rolled = rollups.read_figures(connection, today, options)
    counts = rollups.read_agent_counts(connection, today)
    if rolled is None or counts is None:
        day = day_figures(connection, today, options)
        rolled, counts = (day.campaigns, day.queues, day.total), answered_counts(day.answered_by)
    campaigns, queues, total = rolled
    board = read_board(connection, today, now, agent_ids, counts)
    offset = offset if width == 86400 else 0
    series = rollups.read_series(connection, window, width, offset)
    if series is None:
        series = interval_series(connection, window, width, offset)
    period_campaigns = campaigns
    if window != today:
        over_period = rollups.read_figures(connection, window, options)
        period_campaigns = over_period[0] if over_period else figures(connection, window, GroupBy.CAMPAIGN, options)
    return Snapshot(
        read_at=now,
        board=board,
        total=total,
        campaigns=campaigns,
        queues=queues,
        series=Series(width, series),
        period_campaigns=period_campaigns,
        growth=None
        if service_lines is None
        else read_growth(connection, window, options, period_campaigns, service_lines),
    )
