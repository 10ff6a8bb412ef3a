"""The supervisor's team monitor: the live agent grid, queue and campaign tiles against their goals, growth per
campaign, and charts; every table exports to CSV and every chart to PNG. It only shows snapshots: reading happens
on the LiveFeed's threads, and snapshots arrive here through a queued signal."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

from PySide6.QtCharts import QBarCategoryAxis, QBarSeries, QBarSet, QChart, QChartView, QValueAxis
from PySide6.QtCore import QDate, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QColor, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from agentdesk.base.time import utc_now
from agentdesk.config.schema import MonitorSettings, RosterEntry
from agentdesk.metrics.definitions import TimeRange
from agentdesk.metrics.goals import Standing, standing
from agentdesk.metrics.live import FeedHealth
from agentdesk.metrics.snapshot import Period, Snapshot
from agentdesk.ui.agent_grid import DASH, AgentGridModel, duration, percent
from agentdesk.ui.monitor_export import Exporter
from agentdesk.ui.monitor_tables import COLOURS, FUNNEL_COLUMNS, GROWTH_COLUMNS, show_cell, show_growth

CAMPAIGN_COLUMNS = (
    "Campaign", "Offered", "Answered", "Abandoned", "Abandon %", "ASA", "Avg hold", "AHT", "Service level",
    "Bookings", "Referrals", "Conversion",
)  # fmt: skip
CUSTOM = "custom"
# A custom period covers at most this many days (the chart shows one bar per day).
LONGEST_CUSTOM_DAYS = 400


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
        self._paint(Standing.UNKNOWN)

    def _paint(self, judged: Standing) -> None:
        self.standing = judged
        background, ink = COLOURS[judged]
        self.setStyleSheet(
            f"QFrame#tile {{ background: {background}; border-radius: 6px; }} QLabel {{ color: {ink}; }}"
        )

    def show_value(self, text: str, judged: Standing, note: str) -> None:
        # A style sheet re-polishes the tile and its labels: only when the colour changes, not on every refresh.
        if judged is not self.standing:
            self._paint(judged)
        if self.value.text() != text:
            self.value.setText(text)
        if self.note.text() != note:
            self.note.setText(note)


class MonitorWindow(QMainWindow):
    """Shows what the feed reads; asks the feed to re-read when the period changes."""

    period_changed = Signal(object)  # a Period, or a TimeRange of whole local days (custom)
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
        self.export_status = QLabel("")
        header.addWidget(self.export_status)
        self.status = QLabel("connecting…")
        header.addWidget(self.status)
        self.period = QComboBox()
        for period in Period:
            self.period.addItem(
                period.value.capitalize() if period is Period.TODAY else f"Last {period.value}", period.value
            )
        self.period.addItem("Custom…", CUSTOM)
        self.period.currentIndexChanged.connect(self._period_chosen)
        header.addWidget(self.period)
        # The custom period: from one local day to another, both included.
        today = QDate.currentDate()
        self.period_from, self.period_to = QDateEdit(today.addDays(-6)), QDateEdit(today)
        for edit, name in ((self.period_from, "period_from"), (self.period_to, "period_to")):
            edit.setObjectName(name)
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setMaximumDate(today)
            edit.setVisible(False)
        self.period_apply = QPushButton("Show")
        self.period_apply.setVisible(False)
        self.period_apply.clicked.connect(self._custom_chosen)
        for widget in (self.period_from, self.period_to, self.period_apply):
            header.addWidget(widget)
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
        self.agent_grid = AgentGridModel(settings, self._roster)
        self.agents = QTableView()
        self.agents.setModel(self.agent_grid)
        self.agents.verticalHeader().setVisible(False)
        self.agents.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.agents.setAlternatingRowColors(True)
        self.agents.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.exporter = Exporter()
        self.exporter.finished.connect(self._exported)
        self.campaigns = self._table(CAMPAIGN_COLUMNS)
        self.growth = self._table(GROWTH_COLUMNS)
        self.funnel = self._table(FUNNEL_COLUMNS)
        split.addWidget(self._titled("Agents", self.agents, "agents"))
        self.sections = QTabWidget()
        self.sections.addTab(self._titled("Campaigns and queues today", self.campaigns, "campaigns"), "Operations")
        self.sections.addTab(
            self._titled("Growth over the period: per campaign, service line, script version", self.growth, "growth"),
            "Growth",
        )
        self.sections.addTab(self._titled("Script funnel per version over the period", self.funnel, "funnel"), "Funnel")
        split.addWidget(self.sections)
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

        self._charted: object = None  # what the charts show now
        self._ticker = QTimer(self)  # time in state and call times move between reads
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._tick)
        self._ticker.start()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._ticker.stop()
        self.exporter.wait()
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
        export = QPushButton("Save PNG…" if isinstance(body, QChartView) else "Export CSV…")
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
        self.agent_grid.show_rows(snapshot.board.agents, snapshot.read_at, snapshot.changed_agents)
        self._show_campaigns(snapshot)
        if snapshot.growth is not None:
            show_growth(self.growth, self.funnel, snapshot.growth)
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
                show_cell(self.campaigns, index, column, text, None if judged is Standing.UNKNOWN else judged)

    def _show_charts(self, snapshot: Snapshot) -> None:
        # A new chart costs the GUI thread tens of milliseconds: only when what it shows changed (agent state
        # changes, most of what arrives, leave the charts alone).
        shown = (snapshot.series, [(c.key, c.handled, c.converted) for c in snapshot.period_campaigns])
        if shown == self._charted:
            return
        self._charted = shown
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
            self.agent_grid.tick(utc_now())

    # -- the period ------------------------------------------------------------------------------------------
    def _period_chosen(self) -> None:
        choice = self.period.currentData()
        custom = choice == CUSTOM
        for widget in (self.period_from, self.period_to, self.period_apply):
            widget.setVisible(custom)
        if custom:
            self._custom_chosen()
        else:
            self.period_changed.emit(Period(choice))

    def _custom_chosen(self) -> None:
        first, last = self.period_from.date(), self.period_to.date()
        chosen = custom_range(
            date(first.year(), first.month(), first.day()), date(last.year(), last.month(), last.day())
        )
        if isinstance(chosen, str):
            self.status.setText(f"▲ {chosen}")
            self.status.setStyleSheet("color: #b3261e; font-weight: 600;")
            return
        self.period_changed.emit(chosen)

    # -- export ----------------------------------------------------------------------------------------------
    def _ask_export(self, body: QWidget, name: str) -> None:
        chart = isinstance(body, QChartView)
        path, _ = QFileDialog.getSaveFileName(
            self, "Export", f"agentdesk-{name}.{'png' if chart else 'csv'}", "PNG (*.png)" if chart else "CSV (*.csv)"
        )
        if path:
            self.export(body, Path(path))

    def export(self, body: QWidget, path: Path) -> None:
        """Copy what is shown now, write it on a worker thread; the status line says how it went."""
        if isinstance(body, QChartView):
            self.exporter.export_chart(body, path)
        elif isinstance(body, QTableView | QTableWidget):
            self.exporter.export_table(body.model(), path)
        self.export_status.setText(f"Exporting {path.name}…")

    def _exported(self, ok: bool, message: str) -> None:
        self.export_status.setText(message)
        self.export_status.setStyleSheet("" if ok else "color: #b3261e; font-weight: 600;")


def custom_range(first: date, last: date) -> TimeRange | str:
    """Local days `first` .. `last` (both included) as a range, or what is wrong with them."""
    if last < first:
        return "Custom period: 'to' must not be before 'from'"
    if (last - first).days + 1 > LONGEST_CUSTOM_DAYS:
        return f"Custom period: at most {LONGEST_CUSTOM_DAYS} days"
    start = datetime.combine(first, time()).astimezone()
    end = datetime.combine(last + timedelta(days=1), time()).astimezone()
    return TimeRange(start, end)
