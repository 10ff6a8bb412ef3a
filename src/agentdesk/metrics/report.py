"""The report `agentdesk metrics` prints: every campaign, every agent and the total over one time range."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from agentdesk.metrics.definitions import Figures, MetricOptions, TimeRange
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

    def as_json(self) -> dict[str, object]:
        """{"from", "to", "campaigns": [{"code", ...}], "agents": [{"agent", ...}], "totals": {...}}."""
        return {
            "from": self.window.start.isoformat(),
            "to": self.window.end.isoformat(),
            "campaigns": [{"code": row.key, **row.as_json()} for row in self.campaigns],
            "agents": [{"agent": row.key, **row.as_json()} for row in self.agents],
            "totals": self.total.as_json(),
        }


def build_report(connection: sa.Connection, window: TimeRange, options: MetricOptions) -> Report:
    return Report(
        window,
        figures(connection, window, GroupBy.CAMPAIGN, options),
        figures(connection, window, GroupBy.AGENT, options),
        totals(connection, window, options),
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
