"""The team monitor's tables other than the agent grid: cells updated in place, and the growth section (per
campaign, service line and script version over the period, and the script funnel per version)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QTableWidget, QTableWidgetItem

from agentdesk.metrics.goals import Standing
from agentdesk.metrics.growth import GrowthView
from agentdesk.ui.agent_grid import DASH, duration, percent

GROWTH_COLUMNS = (
    "Group", "Handled", "Bookings", "Referrals", "Conversion", "Speed to conversion", "Lead-to-patient",
)  # fmt: skip
FUNNEL_COLUMNS = ("Script version", "Runs", "Reached an end", "Outcomes", "Left most at")
COLOURS = {
    Standing.GREEN: ("#e3f4e8", "#1e7b3a"),
    Standing.AMBER: ("#fff4d6", "#8a5a00"),
    Standing.RED: ("#fde3e1", "#b3261e"),
    Standing.UNKNOWN: ("#f1f3f5", "#5f6368"),
}


def show_cell(table: QTableWidget, row: int, column: int, text: str, judged: Standing | None) -> None:
    """Update a cell in place (new items on every refresh cost the GUI thread); colours only when they change."""
    item = table.item(row, column)
    if item is None:
        item = QTableWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, None)
        table.setItem(row, column, item)
    elif item.text() != text:
        item.setText(text)
    if item.data(Qt.ItemDataRole.UserRole) != judged:
        item.setData(Qt.ItemDataRole.UserRole, judged)
        if judged is None:
            item.setData(Qt.ItemDataRole.BackgroundRole, None)
            item.setData(Qt.ItemDataRole.ForegroundRole, None)
        else:
            item.setBackground(QBrush(QColor(COLOURS[judged][0])))
            item.setForeground(QBrush(QColor(COLOURS[judged][1])))


def speed(seconds: float | None) -> str:
    """Speed to conversion: minutes within the hour it mostly is, days once a caller took that long."""
    if seconds is None:
        return DASH
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    return duration(seconds)


def show_growth(growth: QTableWidget, funnel: QTableWidget, view: GrowthView) -> None:
    growth.setRowCount(len(view.rows))
    labels = {"campaign": "", "service line": "service line ", "script": "script "}
    for index, row in enumerate(view.rows):
        name = row.key or ("(no campaign)" if row.group == "campaign" else "(none)")
        cells = [
            f"{labels[row.group]}{name}", str(row.handled), str(row.bookings), str(row.referrals),
            percent(row.conversion_rate), speed(row.speed_to_conversion_s), str(row.lead_to_patient),
        ]  # fmt: skip
        for column, text in enumerate(cells):
            show_cell(growth, index, column, text, None)
    funnel.setRowCount(len(view.funnels))
    for index, version in enumerate(view.funnels):
        outcomes = ", ".join(f"{name} {count}" for name, count in version.outcomes.items())
        left = f"{version.most_left_at} ({version.left_there})" if version.most_left_at else DASH
        cells = [version.script, str(version.runs), percent(version.finished_rate), outcomes, left]
        for column, text in enumerate(cells):
            show_cell(funnel, index, column, text, None)
