"""The report `agentdesk metrics` prints: every campaign, every agent and the total over one time range."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce

import sqlalchemy as sa

from agentdesk.metrics.definitions import Figures, MetricOptions, TimeRange
from agentdesk.metrics.growth import (
    Growth,
    GrowthView,
    booked_calls,
    by_service_line,
    growth_by,
    growth_rows,
    speeds,
    version_funnels,
)
from agentdesk.metrics.operations import GroupBy, figures, totals

COLUMNS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "abandon_rate",
    "asa_s",
    "avg_hold_s",
    "aht_s",
    "service_level",
    "referrals",
    "bookings",
    "conversion_rate",
)


@dataclass(frozen=True)
class Report:
    window: TimeRange
    campaigns: list[Figures]
    agents: list[Figures]
    total: Figures
    service_lines: list[Figures] = field(default_factory=list)
    script_versions: list[Figures] = field(default_factory=list)
    growth: dict[str, dict[str, Growth]] = field(default_factory=dict)  # grouping -> key -> growth

    def row(self, grouping: str, figures: Figures) -> dict[str, object]:
        return {**figures.as_json(), **self.growth.get(grouping, {}).get(figures.key, Growth(figures.key)).as_json()}

    def as_json(self) -> dict[str, object]:
        """{"from", "to", "campaigns": [{"code", ...}], "agents": [{"agent", ...}], "totals": {...},
        "service_lines": [{"service_line", ...}], "script_versions": [{"script", ...}]}."""
        return {
            "from": self.window.start.isoformat(),
            "to": self.window.end.isoformat(),
            "campaigns": [{"code": row.key, **self.row("campaign", row)} for row in self.campaigns],
            "agents": [{"agent": row.key, **self.row("agent", row)} for row in self.agents],
            "totals": self.row("total", self.total),
            "service_lines": [{"service_line": row.key, **self.row("service_line", row)} for row in self.service_lines],
            "script_versions": [{"script": row.key, **self.row("script", row)} for row in self.script_versions],
        }


def read_growth(
    connection: sa.Connection,
    window: TimeRange,
    options: MetricOptions,
    campaigns: list[Figures],
    service_lines: dict[str, str],
) -> GrowthView:
    """The monitor's growth section: per campaign (`campaigns`: their figures over `window`), per service line and
    per script version, and the funnel per version."""
    calls = booked_calls(connection, window)
    speed = speeds(connection, calls)
    per_line = _per_service_line(campaigns, service_lines)
    return GrowthView(
        [
            *growth_rows("campaign", campaigns, growth_by(calls, speed, lambda c: (c.campaign,))),
            *growth_rows(
                "service line", per_line, growth_by(calls, speed, lambda c: (service_lines.get(c.campaign, ""),))
            ),
            *growth_rows(
                "script",
                figures(connection, window, GroupBy.SCRIPT, options),
                growth_by(calls, speed, lambda c: c.scripts),
            ),
        ],
        version_funnels(connection, window),
    )


def _per_service_line(campaigns: list[Figures], service_lines: dict[str, str]) -> list[Figures]:
    grouped = by_service_line(campaigns, service_lines)
    return sorted(
        (reduce(lambda a, b: a.plus(b), rows, Figures(key=line)) for line, rows in grouped.items()),
        key=lambda row: row.key,
    )


def build_report(
    connection: sa.Connection, window: TimeRange, options: MetricOptions, service_lines: dict[str, str] | None = None
) -> Report:
    """Every grouping over `window`; `service_lines` maps campaign codes to their service line (campaign files)."""
    lines = service_lines or {}
    campaigns = figures(connection, window, GroupBy.CAMPAIGN, options)
    per_line = [
        reduce(lambda a, b: a.plus(b), rows, Figures(key=line))
        for line, rows in by_service_line(campaigns, lines).items()
    ]
    calls = booked_calls(connection, window)
    speed = speeds(connection, calls)
    growth = {
        "campaign": growth_by(calls, speed, lambda c: (c.campaign,)),
        "agent": growth_by(calls, speed, lambda c: (c.agent_id,)),
        "total": growth_by(calls, speed, lambda c: ("",)),
        "service_line": growth_by(calls, speed, lambda c: (lines.get(c.campaign, ""),)),
        "script": growth_by(calls, speed, lambda c: c.scripts),
    }
    return Report(
        window,
        campaigns,
        figures(connection, window, GroupBy.AGENT, options),
        totals(connection, window, options),
        per_line,
        figures(connection, window, GroupBy.SCRIPT, options),
        growth,
    )


def shown(value: object) -> str:
    """A figure as people read it: '—' when it cannot be computed, rates in %, times in seconds."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def table_lines(report: Report) -> list[str]:
    """The report as aligned text columns (rates in %)."""
    header = ["", *COLUMNS]
    rows: list[list[str]] = []

    def add(label: str, row: Figures) -> None:
        values = row.as_json()
        cells = []
        for name in COLUMNS:
            value = values[name]
            if name.endswith("rate") or name == "service_level":
                cells.append("—" if value is None else f"{float(value) * 100:.1f}%")  # type: ignore[arg-type]
            else:
                cells.append(shown(value))
        rows.append([label, *cells])

    for campaign in report.campaigns:
        add(f"campaign {campaign.key or '(none)'}", campaign)
    for agent in report.agents:
        add(f"agent {agent.key}", agent)
    add("total", report.total)
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in [header, *rows]]
