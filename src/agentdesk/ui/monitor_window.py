"""The supervisor's team monitor: the live agent grid, queue and campaign tiles against their goals, growth per
campaign, and charts; every table exports to CSV and every chart to PNG. It only shows snapshots: reading happens
on the LiveFeed's threads, and snapshots arrive here through a queued signal."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from PySide6.QtCharts import QBarCategoryAxis, QBarSeries, QBarSet, QChart, QChartView, QValueAxis
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QCloseEvent, QColor, QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from agentdesk.base.time import utc_now
from agentdesk.config.schema import MonitorSettings, RosterEntry
from agentdesk.metrics.board import AgentRow
from agentdesk.metrics.goals import Standing, standing
from agentdesk.metrics.live import FeedHealth
from agentdesk.metrics.snapshot import Period, Snapshot

COLOURS = {
    Standing.GREEN: ("#e3f4e8", "#1e7b3a"),
    Standing.AMBER: ("#fff4d6", "#8a5a00"),
    Standing.RED: ("#fde3e1", "#b3261e"),
    Standing.UNKNOWN: ("#f1f3f5", "#5f6368"),
}
STATE_LABELS = {"available": "Available", "not_ready": "Not Ready", "on_call": "On Call", "wrap_up": "Wrap-up"}
AGENT_COLUMNS = (
    "Agent",
    "Team",
    "State",
    "In state",
    "Call",
    "Call time",
    "Handled",
    "Bookings",
    "Referrals",
    "Occupancy",
)
CAMPAIGN_COLUMNS = (
    "Campaign", "Offered", "Answered", "Abandoned", "Abandon %", "ASA", "Avg hold", "AHT", "Service level",
    "Bookings", "Referrals", "Conversion",
)  # fmt: skip
DASH = "—"


def duration(seconds: float | None) -> str:
    """m:ss (h:mm:ss past an hour); '—' when unknown."""
    if seconds is None:
        return DASH
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f} %"


class SnapshotBridge(QObject):
    """Carries the feed's callbacks (on its threads) to the GUI thread."""

    snapshot = Signal(object)
    health = Signal(object)


class Tile(QFrame):
    """One figure with its label, coloured by how it stands against its goal."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.setObjectName("tile")
        self.setMinimumWidth(120)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        self.title = QLabel(title)
        self.value = QLabel(DASH)
        self.value.setStyleSheet("font-size: 20pt; font-weight: 600;")
        self.note = QLabel("")
        for label in (self.title, self.value, self.note):
            layout.addWidget(label)
        self.standing = Standing.UNKNOWN
        self.show_value(DASH, Standing.UNKNOWN, "")

    def show_value(self, text: str, judged: Standing, note: str) -> None:
        self.standing = judged
        background, ink = COLOURS[judged]
        self.setStyleSheet(
            f"QFrame#tile {{ background: {background}; border-radius: 6px; }} QLabel {{ color: {ink}; }}"
        )
        self.value.setText(text)
        self.note.setText(note)


class MonitorWindow(QMainWindow):
    """Shows what the feed reads; asks the feed to re-read when the period changes."""

    period_changed = Signal(str)
    closed = Signal()

    def __init__(self, settings: MonitorSettings, roster: list[RosterEntry] | None = None) -> None:
        super().__init__()
        self.settings = settings
        self._roster = {entry.login.casefold(): entry for entry in roster or settings.roster}
        self.snapshot: Snapshot | None = None
        self.bridge = SnapshotBridge()
        self.bridge.snapshot.connect(self.show_snapshot)
        self.bridge.health.connect(self.show_health)
        self.setWindowTitle("AgentDesk — Team monitor")
        self.resize(1360, 860)

        central = QWidget()
        outer = QVBoxLayout(central)
        header = QHBoxLayout()
        title = QLabel("Team monitor")
        title.setStyleSheet("font-size: 16pt; font-weight: 600;")
        header.addWidget(title)
        header.addStretch(1)
        self.status = QLabel("connecting…")
        header.addWidget(self.status)
        self.period = QComboBox()
        for period in Period:
            self.period.addItem(
                period.value.capitalize() if period is Period.TODAY else f"Last {period.value}", period.value
            )
        self.period.currentIndexChanged.connect(lambda _: self.period_changed.emit(self.period.currentData()))
        header.addWidget(self.period)
        outer.addLayout(header)

        tiles = QGridLayout()
        self.tiles: dict[str, Tile] = {}
        names = [
            ("offered", "Offered"), ("answered", "Answered"), ("abandon_rate", "Abandoned"), ("asa_s", "ASA"),
            ("avg_hold_s", "Avg hold"), ("aht_s", "AHT"), ("service_level", "Service level"),
            ("longest_wait_s", "Longest wait"), ("conversion_rate", "Conversion"), ("bookings", "Bookings · referrals"),
        ]  # fmt: skip
        for index, (key, label) in enumerate(names):
            self.tiles[key] = Tile(label)
            tiles.addWidget(self.tiles[key], 0, index)
        outer.addLayout(tiles)

        split = QSplitter(Qt.Orientation.Vertical)
        self.agents = self._table(AGENT_COLUMNS)
        self.campaigns = self._table(CAMPAIGN_COLUMNS)
        split.addWidget(self._titled("Agents", self.agents, "agents"))
        split.addWidget(self._titled("Campaigns and queues today", self.campaigns, "campaigns"))
        charts = QSplitter(Qt.Orientation.Horizontal)
        self.calls_chart = QChartView(QChart())
        self.conversion_chart = QChartView(QChart())
        for view in (self.calls_chart, self.conversion_chart):
            view.setRenderHint(QPainter.RenderHint.Antialiasing)
            view.setMinimumHeight(220)
        charts.addWidget(self._titled("Calls and abandons", self.calls_chart, "calls"))
        charts.addWidget(self._titled("Conversions per campaign", self.conversion_chart, "conversions"))
        split.addWidget(charts)
        split.setSizes([330, 200, 260])
        outer.addWidget(split, 1)
        self.setCentralWidget(central)

        self._ticker = QTimer(self)  # time in state and call times move between reads
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._tick)
        self._ticker.start()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._ticker.stop()
        self.closed.emit()
        super().closeEvent(event)

    # -- building blocks -----------------------------------------------------------------------------------
    def _table(self, columns: tuple[str, ...]) -> QTableWidget:
        table = QTableWidget(0, len(columns))
        table.setHorizontalHeaderLabels(list(columns))
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        return table

    def _titled(self, title: str, body: QWidget, name: str) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 4, 0, 0)
        row = QHBoxLayout()
        label = QLabel(title)
        label.setStyleSheet("font-weight: 600;")
        row.addWidget(label)
        row.addStretch(1)
        export = QPushButton("Export CSV…" if isinstance(body, QTableWidget) else "Save PNG…")
        export.setObjectName(f"export_{name}")
        export.clicked.connect(lambda: self._ask_export(body, name))
        row.addWidget(export)
        layout.addLayout(row)
        layout.addWidget(body)
        return box

    # -- what the feed sends -------------------------------------------------------------------------------
    def show_health(self, health: FeedHealth) -> None:
        if health.ok:
            self.status.setText(f"● {health.detail} · updated {datetime.now():%H:%M:%S}")
            self.status.setStyleSheet("color: #1e7b3a;")
        else:
            since = f"stale since {health.stale_since.astimezone():%H:%M}" if health.stale_since else "no data yet"
            self.status.setText(f"▲ {since} · {health.detail}")
            self.status.setStyleSheet("color: #b3261e; font-weight: 600;")

    def show_snapshot(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._show_tiles(snapshot)
        self._show_agents(snapshot.board.agents, snapshot.read_at)
        self._show_campaigns(snapshot)
        self._show_charts(snapshot)

    def _show_tiles(self, snapshot: Snapshot) -> None:
        goals, margin, total = self.settings.goals, self.settings.goals.amber_margin, snapshot.total

        def judged(metric: str, value: float | None, goal: float) -> Standing:
            return standing(metric, value, goal, margin)

        self.tiles["offered"].show_value(
            str(total.offered), Standing.UNKNOWN, f"{total.short_abandoned} short abandons"
        )
        self.tiles["answered"].show_value(str(total.answered), Standing.UNKNOWN, f"{total.handled} handled")
        self.tiles["abandon_rate"].show_value(
            percent(total.abandon_rate),
            judged("abandon_rate", total.abandon_rate, goals.abandon_rate),
            f"{total.abandoned} call(s) · goal < {goals.abandon_rate * 100:g} %",
        )
        for key, goal in (("asa_s", goals.asa_s), ("avg_hold_s", goals.avg_hold_s), ("aht_s", goals.aht_s)):
            value = getattr(total, key)
            self.tiles[key].show_value(duration(value), judged(key, value, goal), f"goal ≤ {duration(goal)}")
        self.tiles["service_level"].show_value(
            percent(total.service_level),
            judged("service_level", total.service_level, goals.service_level),
            f"in {self.settings.service_level_seconds:g} s · goal {goals.service_level * 100:g} %",
        )
        waits = snapshot.board.longest_wait_s
        longest = max(waits.values()) if waits else None
        queue = max(waits, key=lambda q: waits[q]) if waits else ""
        self.tiles["longest_wait_s"].show_value(
            duration(longest),
            judged("longest_wait_s", longest, goals.longest_wait_s) if longest is not None else Standing.GREEN,
            queue or "nobody waiting",
        )
        self.tiles["conversion_rate"].show_value(
            percent(total.conversion_rate),
            judged("conversion_rate", total.conversion_rate, goals.conversion_rate),
            f"goal {goals.conversion_rate * 100:g} %",
        )
        self.tiles["bookings"].show_value(f"{total.bookings} · {total.referrals}", Standing.UNKNOWN, "today")

    def _show_agents(self, rows: list[AgentRow], now: datetime) -> None:
        self.agents.setRowCount(len(rows))
        for index, row in enumerate(rows):
            entry = self._roster.get(row.agent_id.casefold())
            in_state = (now - row.since).total_seconds() if row.since else None
            state = STATE_LABELS.get(row.state or "", DASH)
            if row.state == "not_ready" and row.reason:
                state = f"{state}: {row.reason}"
            call_time = (now - row.call_since).total_seconds() if row.call_since else None
            cells = [
                entry.name if entry and entry.name else row.agent_id,
                entry.team if entry else "",
                state,
                duration(in_state),
                (row.call_campaign or "(none)") if row.call_since else "",
                duration(call_time) if row.call_since else "",
                str(row.handled),
                str(row.bookings),
                str(row.referrals),
                percent(row.occupancy),
            ]
            over = self._over_limit(row.state, in_state)
            for column, text in enumerate(cells):
                _show(self.agents, index, column, text, Standing.RED if over and column in (2, 3) else None)

    def _over_limit(self, state: str | None, seconds: float | None) -> bool:
        if seconds is None:
            return False
        if state == "wrap_up":
            return seconds > self.settings.wrapup_limit_seconds
        if state == "not_ready":
            return seconds > self.settings.not_ready_limit_seconds
        return False

    def _show_campaigns(self, snapshot: Snapshot) -> None:
        rows = [(f"{c.key or '(no campaign)'}", c) for c in snapshot.campaigns]
        rows += [(f"queue {q.key or '(none)'}", q) for q in snapshot.queues]
        goals, margin = self.settings.goals, self.settings.goals.amber_margin
        self.campaigns.setRowCount(len(rows))
        for index, (label, row) in enumerate(rows):
            cells: list[tuple[str, Standing | None]] = [
                (label, None),
                (str(row.offered), None),
                (str(row.answered), None),
                (str(row.abandoned), None),
                (percent(row.abandon_rate), standing("abandon_rate", row.abandon_rate, goals.abandon_rate, margin)),
                (duration(row.asa_s), standing("asa_s", row.asa_s, goals.asa_s, margin)),
                (duration(row.avg_hold_s), standing("avg_hold_s", row.avg_hold_s, goals.avg_hold_s, margin)),
                (duration(row.aht_s), standing("aht_s", row.aht_s, goals.aht_s, margin)),
                (percent(row.service_level), standing("service_level", row.service_level, goals.service_level, margin)),
                (str(row.bookings), None),
                (str(row.referrals), None),
                (
                    percent(row.conversion_rate),
                    standing("conversion_rate", row.conversion_rate, goals.conversion_rate, margin),
                ),
            ]
            for column, (text, judged) in enumerate(cells):
                _show(self.campaigns, index, column, text, None if judged is Standing.UNKNOWN else judged)

    def _show_charts(self, snapshot: Snapshot) -> None:
        daily = snapshot.series.width_s >= 86400
        labels = [
            f"{start.astimezone():%a %d}" if daily else f"{start.astimezone():%H}h"
            for start, *_ in snapshot.series.points
        ]
        offered, abandoned = QBarSet("Offered"), QBarSet("Abandoned")
        offered.setColor(QColor("#4a78c2"))
        abandoned.setColor(QColor("#d9534f"))
        for _, count, lost, _ in snapshot.series.points:
            offered.append(count)
            abandoned.append(lost)
        self._bar_chart(self.calls_chart, [offered, abandoned], labels)
        campaigns = [c for c in snapshot.period_campaigns if c.handled]
        converted, handled = QBarSet("Converted"), QBarSet("Handled")
        converted.setColor(QColor("#1e7b3a"))
        handled.setColor(QColor("#9aa5b1"))
        for campaign in campaigns:
            handled.append(campaign.handled)
            converted.append(campaign.converted)
        self._bar_chart(self.conversion_chart, [handled, converted], [c.key or "(none)" for c in campaigns])

    @staticmethod
    def _bar_chart(view: QChartView, sets: list[QBarSet], labels: list[str]) -> None:
        chart = QChart()
        series = QBarSeries()
        for bar_set in sets:
            series.append(bar_set)
        chart.addSeries(series)
        axis_x = QBarCategoryAxis()
        axis_x.append(labels or [""])
        chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(axis_x)
        axis_y = QValueAxis()
        top = max((bar_set.at(i) for bar_set in sets for i in range(bar_set.count())), default=0)
        # Whole calls: one tick per call up to ten, else Qt's nice numbers (labels must fall on integers).
        ceiling = max(int(top) + (0 if top == int(top) else 1), 1)
        axis_y.setRange(0, ceiling)
        if ceiling <= 10:
            axis_y.setTickCount(ceiling + 1)
        else:
            axis_y.applyNiceNumbers()
        axis_y.setLabelFormat("%d")
        chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(axis_y)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        chart.setMargins(chart.margins().__class__(4, 4, 4, 4))
        previous = view.chart()
        view.setChart(chart)
        previous.deleteLater()

    def _tick(self) -> None:
        if self.snapshot is not None:
            elapsed = utc_now() - self.snapshot.read_at
            self._show_agents(self.snapshot.board.agents, self.snapshot.read_at + elapsed)

    # -- export ----------------------------------------------------------------------------------------------
    def _ask_export(self, body: QWidget, name: str) -> None:
        table = isinstance(body, QTableWidget)
        path, _ = QFileDialog.getSaveFileName(
            self, "Export", f"agentdesk-{name}.{'csv' if table else 'png'}", "CSV (*.csv)" if table else "PNG (*.png)"
        )
        if not path:
            return
        if isinstance(body, QTableWidget):
            export_csv(body, Path(path))
        elif isinstance(body, QChartView):
            export_png(body, Path(path))


def _show(table: QTableWidget, row: int, column: int, text: str, judged: Standing | None) -> None:
    """Update a cell in place (the grid is redrawn every second: new items for 500 agents cost the GUI thread
    tens of milliseconds); colours only when they change."""
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


def export_csv(table: QTableWidget, path: Path) -> None:
    """The table as shown (headers, then rows of the displayed text)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        columns = range(table.columnCount())
        writer.writerow([_text(table.horizontalHeaderItem(c)) for c in columns])
        for row in range(table.rowCount()):
            writer.writerow([_text(table.item(row, c)) for c in columns])


def _text(item: QTableWidgetItem | None) -> str:
    return item.text() if item is not None else ""


def export_png(view: QChartView, path: Path) -> None:
    if not view.grab().save(str(path), "PNG"):
        raise OSError(f"could not write {path.name}")
