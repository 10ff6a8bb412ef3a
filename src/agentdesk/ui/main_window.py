"""The main window: call bar on top, profile on the left, script and wrap-up on the right, status below."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QProgressBar, QStackedWidget, QVBoxLayout, QWidget

# Only the frame (MainWindow.starting) is built before the first paint: the panels, the desk's types and Qt's `Qt`
# namespace (12 ms of enum building) are imported when the desk is built, right after it (see app.py).
if TYPE_CHECKING:
    from concurrent.futures import Future

    from PySide6.QtGui import QCloseEvent

    from agentdesk.campaigns.model import Campaign
    from agentdesk.desk import CallContext
    from agentdesk.records.model import LookupResult
    from agentdesk.store.sync import SyncStatus  # not at import: SQLAlchemy loads after the window is up
    from agentdesk.telephony.agent_state import AgentStatus
    from agentdesk.telephony.calls import CallState
    from agentdesk.ui.layout import Layout

STYLE = """
#PanelTitle { font-size: 11pt; font-weight: 700; color: #334155; }
#CallerNumber { font-size: 15pt; font-weight: 700; }
#DialedNumber { color: #475569; }
#PatientName { font-size: 17pt; font-weight: 700; }
#PatientSummary { font-size: 10.5pt; color: #334155; }
#PatientBadges { color: #b45309; font-weight: 600; }
#ScriptText { font-size: 14pt; background: #f1f5f9; border-radius: 4px; padding: 10px; color: #0f172a; }
#ScriptNote { color: #92400e; font-style: italic; }
#StepTitle { font-weight: 700; color: #334155; }
#CampaignName { font-weight: 600; color: #1d4ed8; }
#CampaignReason, #PathTitle { color: #64748b; font-size: 9pt; }
#ScriptChoice { text-align: left; padding: 5px 10px; }
#CallBar { background: #f8fafc; }
"""


class MainWindow(QMainWindow):
    closing = Signal()
    agent_state_requested = Signal(object, str)  # AgentState, reason
    sync_now_requested = Signal()
    script_action_requested = Signal(str, str)  # booking/referral/callback/transfer, transfer target
    monitor_requested = Signal()  # the team monitor (the composition root checks the role)

    def __init__(
        self, title: str, agent_name: str, reasons: list[str], state_file: Path, demo: bool, *, starting: bool = False
    ) -> None:
        super().__init__()
        self.setWindowTitle(title)
        self.setObjectName("MainWindow")
        self._state_file = state_file
        self._layout: Layout = {}
        self.built = False
        self.closed_while_starting = False  # closed before the desk was built: the desk stops once it is
        self.layout_saved: Future[None] | None = None  # the last layout write (on a worker thread)
        self.busy = QProgressBar()
        self.busy.setObjectName("StartupProgress")
        self.busy.setRange(0, 0)  # indeterminate while the startup runs
        self.busy.setFixedWidth(120)
        self.busy.setTextVisible(False)
        self.statusBar().addPermanentWidget(self.busy)
        self.statusBar().showMessage("Starting…")
        self._starting_page = QWidget()
        self._starting_page.setObjectName("StartingPage")
        starting_text = QLabel("Starting AgentDesk…")
        starting_text.setObjectName("StartingText")
        row = QHBoxLayout()  # centred by stretches: no alignment flag, so no `Qt` namespace before the paint
        row.addStretch(1)
        row.addWidget(starting_text)
        row.addStretch(1)
        column = QVBoxLayout(self._starting_page)
        column.addStretch(1)
        column.addLayout(row)
        column.addStretch(1)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._starting_page)
        self.setCentralWidget(self.pages)
        self.resize(1280, 800)
        if not starting:
            self.build(agent_name, reasons, demo)

    @classmethod
    def starting(cls, title: str, state_file: Path) -> MainWindow:
        """The frame only, in its "starting…" state (title, size, a progress indicator): what the first paint
        shows. `build` adds the desk once the settings are ready."""
        return cls(title, "", [], state_file, False, starting=True)

    def build(self, agent_name: str, reasons: list[str], demo: bool) -> None:
        """The desk itself: call bar, profile, script and wrap-up panels, toolbar, status bar."""
        from PySide6.QtCore import Qt, QTimer
        from PySide6.QtGui import QAction, QKeySequence
        from PySide6.QtWidgets import QCheckBox, QComboBox, QPushButton, QSpinBox, QSplitter, QToolBar

        from agentdesk.telephony.agent_state import AgentState
        from agentdesk.ui.call_bar import CallBar
        from agentdesk.ui.lock_page import LockPage
        from agentdesk.ui.notifier import app_icon
        from agentdesk.ui.profile_panel import ProfilePanel
        from agentdesk.ui.script_panel import ScriptPanel
        from agentdesk.ui.wrapup_panel import WrapUpPanel

        self.setStyleSheet(STYLE)
        self.setWindowIcon(app_icon())
        self._current_call_id = ""
        self._current: CallContext | None = None
        self._shown_campaign = ""
        self.campaigns: list[Campaign] = []

        self.call_bar = CallBar()
        self.profile = ProfilePanel()
        self.script = ScriptPanel(agent_name)
        self.wrapup = WrapUpPanel()
        right = QSplitter(Qt.Orientation.Vertical)
        right.setObjectName("RightSplitter")
        right.addWidget(self.script)
        right.addWidget(self.wrapup)
        right.setStretchFactor(0, 3)  # the script is read aloud all call long; the wrap-up needs less room
        right.setStretchFactor(1, 2)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("MainSplitter")
        self.splitter.addWidget(self.profile)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.right_splitter = right
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.call_bar)
        layout.addWidget(self.splitter, 1)
        self.lock_page = LockPage()
        self.unlock_button = self.lock_page.button
        self.unlock_requested = self.lock_page.unlock_requested  # the composition root checks the PIN, if any
        self._held: tuple[CallContext, list[CallContext] | None] | None = None  # what to show on unlock
        self._shown: tuple[CallContext, list[CallContext] | None] | None = None
        self.pages.insertWidget(0, central)
        self.pages.insertWidget(1, self.lock_page)
        self.pages.setCurrentIndex(0)
        self.pages.removeWidget(self._starting_page)
        self._starting_page.deleteLater()

        self.toolbar = QToolBar("Main")
        self.toolbar.setObjectName("MainToolbar")
        self.addToolBar(self.toolbar)
        self.agent_state = QComboBox()
        self.agent_state.setObjectName("AgentState")
        self.agent_state.setAccessibleName("Agent state")
        self.agent_state.setToolTip("Your state (F9: Available, F10: Not Ready)")
        self.agent_state.addItem("Available", (AgentState.AVAILABLE, ""))
        for reason in reasons:
            self.agent_state.addItem(f"Not Ready: {reason}", (AgentState.NOT_READY, reason))
        self.agent_state.addItem("On Call", (AgentState.ON_CALL, ""))
        self.agent_state.addItem("Wrap-up", (AgentState.WRAP_UP, ""))
        self._disable_call_driven_states()
        self.agent_state.activated.connect(self._agent_state_chosen)
        self.toolbar.addWidget(QLabel(f"  {agent_name}  "))
        self.toolbar.addWidget(self.agent_state)
        self.toolbar.addSeparator()

        self.simulate_action = QAction("Simulate incoming call", self)
        self.simulate_action.setShortcut(QKeySequence("Ctrl+Shift+I"))
        self.answer_action = QAction("Answer", self)
        self.answer_action.setShortcut(QKeySequence("Ctrl+Shift+A"))
        self.hold_action = QAction("Hold", self)
        self.hold_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.hangup_action = QAction("Hang up", self)
        self.hangup_action.setShortcut(QKeySequence("Ctrl+Shift+H"))
        for action in (self.answer_action, self.hold_action, self.hangup_action):
            action.setEnabled(False)  # nothing to answer, hold or hang up until a call arrives
        self.lock_action = QAction("Lock", self)
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.setToolTip("Hide patient data now, e.g. before leaving the desk (Ctrl+L)")
        self.lock_action.triggered.connect(lambda: self.set_locked(True))
        self.addAction(self.lock_action)
        self.save_action = QAction("Save disposition", self)
        self.save_action.setShortcut(QKeySequence.StandardKey.Save)
        self.save_action.triggered.connect(self.wrapup.save_button.click)
        self.available_action = QAction("Available", self)
        self.available_action.setShortcut(QKeySequence("F9"))
        self.available_action.triggered.connect(lambda: self.agent_state_requested.emit(AgentState.AVAILABLE, ""))
        self.not_ready_action = QAction("Not Ready", self)
        self.not_ready_action.setShortcut(QKeySequence("F10"))
        self.not_ready_action.triggered.connect(
            lambda: self.agent_state_requested.emit(AgentState.NOT_READY, reasons[0])
        )
        self.search_action = QAction("Search for the caller", self)
        self.search_action.setShortcut(QKeySequence.StandardKey.Find)
        self.search_action.triggered.connect(self.profile.search.setFocus)
        self.script.changed.connect(self._script_moved)
        self.script.wrapup_requested.connect(self._go_to_wrapup)
        self.script.action_requested.connect(self.script_action_requested)
        self.focus_script_action = QAction("Go to the script", self)
        self.focus_script_action.setShortcut(QKeySequence("Ctrl+J"))
        self.focus_script_action.triggered.connect(self.script.focus_answer)
        self.focus_wrapup_action = QAction("Go to wrap-up", self)
        self.focus_wrapup_action.setShortcut(QKeySequence("Ctrl+D"))
        self.focus_wrapup_action.triggered.connect(self.wrapup.disposition.setFocus)
        for action in (
            self.save_action,
            self.available_action,
            self.not_ready_action,
            self.focus_wrapup_action,
            self.focus_script_action,
            self.search_action,
        ):
            self.addAction(action)
        self.monitor_action = QAction("Team monitor", self)
        self.monitor_action.setObjectName("TeamMonitor")
        self.monitor_action.setShortcut(QKeySequence("Ctrl+Shift+M"))
        self.monitor_action.setToolTip("Open the team monitor (supervisors; Ctrl+Shift+M)")
        self.monitor_action.triggered.connect(self.monitor_requested)
        self.addAction(self.monitor_action)
        self.auto_call_action = QAction("Auto-call", self)
        self.auto_call_action.setCheckable(True)
        self.auto_call_action.setToolTip("Simulate an incoming call every N seconds")
        self.auto_call_seconds = QSpinBox()
        self.auto_call_seconds.setObjectName("AutoCallSeconds")
        self.auto_call_seconds.setRange(5, 3600)
        self.auto_call_seconds.setValue(30)
        self.auto_call_seconds.setSuffix(" s")
        self.auto_call_seconds.setAccessibleName("Seconds between automatic calls")
        # A check box, not a bare toolbar action: it must look like the on/off switch it is.
        self.auto_call_box = QCheckBox("Auto-call every")
        self.auto_call_box.setObjectName("AutoCall")
        self.auto_call_box.setToolTip(self.auto_call_action.toolTip())
        self.auto_call_box.toggled.connect(self.auto_call_action.setChecked)
        self.auto_call_action.toggled.connect(self.auto_call_box.setChecked)
        if demo:
            for action in (self.simulate_action, self.answer_action, self.hold_action, self.hangup_action):
                action.setToolTip(f"{action.text()} ({action.shortcut().toString()})")
                self.toolbar.addAction(action)
            self.toolbar.addSeparator()
            self.toolbar.addWidget(self.auto_call_box)
            self.toolbar.addWidget(self.auto_call_seconds)
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.monitor_action)

        self._unavailable_sources: list[str] = []  # backends that could not be built at start
        self.sources_status = QLabel("Sources: starting…")
        self.sources_status.setObjectName("SourcesStatus")
        self.campaigns_status = QLabel("")
        self.campaigns_status.setObjectName("CampaignsStatus")
        self.store_status = QLabel("Local store: opening…")
        self.store_status.setObjectName("StoreStatus")
        self.agent_timer_label = QLabel("")
        self.agent_timer_label.setObjectName("AgentStateTimer")
        self.links: dict[str, QLabel] = {}
        self.events_status = QLabel("")
        self.events_status.setObjectName("CallEventsStatus")
        self.clock_status = QLabel("")
        self.clock_status.setObjectName("ClockSkewStatus")
        self.clock_status.setStyleSheet("color:#b45309;")
        self.clock_status.hide()
        self._counts: tuple[int, tuple[tuple[str, int], ...]] | None = None
        self._agent_status: AgentStatus | None = None
        self._agent_tick = QTimer(self)
        self._agent_tick.setInterval(1000)
        self._agent_tick.timeout.connect(self._update_agent_timer)
        self._agent_tick.start()
        self.statusBar().addPermanentWidget(self.agent_timer_label)
        self.statusBar().addPermanentWidget(self.events_status)
        self.statusBar().addPermanentWidget(self.campaigns_status)
        self.statusBar().addPermanentWidget(self.clock_status)
        self.statusBar().addPermanentWidget(self.sources_status)
        self.statusBar().addPermanentWidget(self.store_status)
        self.sync_status = QLabel("")
        self.sync_status.setObjectName("SyncStatus")
        self.sync_button = QPushButton("Sync now")
        self.sync_button.setObjectName("SyncNow")
        self.sync_button.setToolTip("Send what is waiting to the central store now")
        self.sync_button.clicked.connect(self.sync_now_requested)
        self.sync_button.hide()  # shown once a central store is configured
        self.statusBar().addPermanentWidget(self.sync_status)
        self.statusBar().addPermanentWidget(self.sync_button)
        self.wrapup_limit_seconds = 0.0
        self.built = True
        self._restore_panels()
        if self.isVisible() and self.focusWidget() is None:
            # Built after the frame was shown and activated: give the focus Qt gives on activation (the search
            # box), so what the agent typed while the frame showed (held in Qt's queue until now) lands there.
            self.focusNextPrevChild(True)

    # -- slots the composition root connects ----------------------------------------------------------------
    def show_call(self, context: CallContext, active: list[CallContext] | None = None) -> None:
        """Show the desk's current call (and list the other live ones); while locked, only remember it."""
        if self.is_locked:
            self._held = (context, active)
            return
        self._shown = (context, active)
        switched = context.call.call_id != self._current_call_id
        self._current_call_id = context.call.call_id
        self._current = context
        self.call_bar.show_call(context, active)
        self.wrapup.set_call(
            None if context.manual else context.call.call_id,
            context.dispositions,
            draft=context.draft,
            callback_defaults={"number": context.call.ani_raw or context.call.ani},
        )
        from agentdesk.telephony.calls import CallState

        waiting = context.call.state is CallState.ENDED and not context.wrapped_up and not context.manual
        self.wrapup.set_ended(context.call.ended_here() if waiting else None, self.wrapup_limit_seconds)
        campaign = context.campaign.code if context.campaign else ""
        if not switched and campaign != self._shown_campaign:
            self.wrapup.replace_dispositions(context.dispositions)  # the agent switched campaign
        self._shown_campaign = campaign
        self._show_call_actions(context.call.state)
        if switched:
            if not context.manual:  # a new call starts with an empty search box (a search shows what was typed)
                self.profile.search.clear()
                self.profile.show_search_problem(None)
            if context.lookup is None:
                self.profile.clear("Searching…" if context.manual else "Looking up the caller…")
            else:
                self.profile.show_lookup(context.lookup)
                self.profile.show_history(context.history)  # found while another call was on screen
        self._show_script(context)

    def _show_call_actions(self, state: CallState) -> None:
        """The phone's buttons (the demo's): Answer a ringing call or Resume a held one, Hold the one talking."""
        from agentdesk.telephony.calls import CallState

        resume = state is CallState.HELD
        self.answer_action.setText("Resume" if resume else "Answer")
        self.answer_action.setToolTip(f"{self.answer_action.text()} ({self.answer_action.shortcut().toString()})")
        self.answer_action.setEnabled(state in (CallState.RINGING, CallState.HELD))
        self.hold_action.setEnabled(state is CallState.TALKING)
        self.hangup_action.setEnabled(state is not CallState.ENDED)

    def show_lookup(self, context: CallContext) -> None:
        if self.is_locked:
            return  # shown from the held call on unlock
        if context.lookup is None or context.call.call_id != self._current_call_id:
            return  # another call's lookup: shown when the agent switches to it
        self.profile.show_lookup(context.lookup)
        self.profile.show_history(context.history)
        self._show_script(context)
        self._show_source_health(context.lookup)

    @property
    def is_locked(self) -> bool:
        return self.pages.currentWidget() is self.lock_page

    def set_locked(self, locked: bool) -> None:
        """Lock: hide the panels and empty every widget that held patient data (nothing left to read out by an
        accessibility tool or a screen grab). Unlock: show the desk's current call again."""
        if locked == self.is_locked:
            return
        if locked:
            self.pages.setCurrentIndex(1)
            self._held, self._current_call_id = self._shown, ""
            self.profile.clear("Locked.")
            self.call_bar.clear()
            self.script.clear()
            self.profile.search.clear()
            self.profile.search_feedback.clear()
            self.lock_page.reset()
            self.lock_page.focus()
            # The wrap-up panel keeps the agent's unsaved notes (hidden): clearing them would lose work.
            return
        self.pages.setCurrentIndex(0)
        held, self._held = self._held, None
        if held is not None:
            self.show_call(*held)
            self.show_lookup(held[0])

    def show_link(self, name: str, state: str, detail: str) -> None:
        """A call source's connection: up, connecting, down (retrying) or refused."""
        label = self.links.get(name)
        if label is None:
            label = self.links[name] = QLabel()
            label.setObjectName(f"Link-{name}")
            self.statusBar().insertPermanentWidget(2, label)
        colour = {"up": "#15803d", "connecting": "#b45309", "local only": "#b45309"}.get(state, "#b91c1c")
        label.setText(f"{name}: {state}")
        label.setToolTip(detail)
        label.setStyleSheet(f"color:{colour};")

    def show_sync(self, status: SyncStatus) -> None:
        """The outbox: synced / N pending / offline since HH:MM, with Sync now beside it."""
        self.sync_status.setText(f"Central: {status.text}")
        self.sync_status.setToolTip(status.problem)
        colour = "#15803d" if status.ok and not status.pending else ("#b45309" if status.ok else "#b91c1c")
        self.sync_status.setStyleSheet(f"color:{colour};")
        self.sync_button.show()

    def show_event_counts(self, accepted: int, rejected: dict[str, int]) -> None:
        counts = (accepted, tuple(sorted(rejected.items())))
        if counts == self._counts:
            return
        self._counts = counts
        total = sum(rejected.values())
        self.events_status.setText(f"Call events: {accepted}" + (f" · {total} rejected" if total else ""))
        self.events_status.setToolTip("\n".join(f"{reason}: {count}" for reason, count in sorted(rejected.items())))
        self.events_status.setStyleSheet("color:#b45309;" if total else "")

    def show_clock_skew(self, skews: dict[str, float]) -> None:
        """Call sources whose clock is off by more than a few seconds (their timestamps are stored as they send
        them; durations use this desk's clock, so calls are still timed right)."""
        if not skews:
            self.clock_status.hide()
            return
        worst_source, worst = max(skews.items(), key=lambda item: abs(item[1]))
        direction = "ahead" if worst > 0 else "behind"
        amount = f"{abs(worst):.0f} s" if abs(worst) < 120 else f"{abs(worst) / 60:.0f} min"
        self.clock_status.setText(f"{worst_source} clock {amount} {direction}")
        self.clock_status.setToolTip(
            "These phone systems' clocks differ from this computer's; their timestamps are kept as sent, call\n"
            "durations use this computer's clock:\n"
            + "\n".join(f"{name}: {skew:+.1f} s" for name, skew in sorted(skews.items()))
        )
        self.clock_status.show()

    def _update_agent_timer(self) -> None:
        from agentdesk.base.time import utc_now
        from agentdesk.ui.call_bar import format_duration

        status = self._agent_status
        if status is not None:
            seconds = (utc_now() - status.since).total_seconds()
            self.agent_timer_label.setText(f"{status.label} · {format_duration(seconds)}")

    def show_agent_state(self, status: AgentStatus) -> None:
        self._agent_status = status
        self._update_agent_timer()
        index = next(
            (
                i
                for i in range(self.agent_state.count())
                if self.agent_state.itemData(i) == (status.state, status.reason)
            ),
            -1,
        )
        self.agent_state.setCurrentIndex(index)

    def show_store_health(self, ok: bool, detail: str) -> None:
        colour = "#15803d" if ok else "#b91c1c"
        self.store_status.setText(f"Local store: {detail}")
        self.store_status.setStyleSheet(f"color:{colour};")

    def show_busy(self, message: str | None) -> None:
        """A progress indicator for startup work; None hides it."""
        self.busy.setVisible(message is not None)
        if message:
            self.statusBar().showMessage(message)
        else:
            self.statusBar().clearMessage()

    def show_sources_ready(self, names: list[str], problems: list[str]) -> None:
        """The backends built at start, and those that could not be (kept: every later lookup still shows them)."""
        self._unavailable_sources = list(problems)
        text = f"Sources: {', '.join(names) or 'none configured'}"
        if problems:
            text += f" · {len(problems)} unavailable"
        self.sources_status.setText(text)
        self.sources_status.setToolTip("\n".join(problems))
        self.sources_status.setStyleSheet("color:#b91c1c;" if problems else "")

    # -- internals -----------------------------------------------------------------------------------------
    def show_campaigns_ready(self, campaigns: list[Campaign], problems: list[str]) -> None:
        """The loaded campaigns (offered for switching) and the ones a bad file made unavailable, with why."""
        self.campaigns = campaigns
        text = f"Campaigns: {len(campaigns)}" + (f" · {len(problems)} unavailable" if problems else "")
        self.campaigns_status.setText(text)
        self.campaigns_status.setToolTip("\n".join(problems) or "Every campaign file loaded")
        self.campaigns_status.setStyleSheet("color:#b91c1c;" if problems else "")

    def _show_script(self, context: CallContext) -> None:
        if context.manual:
            self.script.clear()
            return
        self.script.show_run(context.campaign, context.campaign_reason, context.script, self.campaigns)
        self._script_moved()

    def _script_moved(self) -> None:
        """The end step's suggestion goes to the wrap-up, unless the agent already chose an outcome."""
        context = self._current
        if context is not None and context.suggested_disposition:
            self.wrapup.preselect(context.suggested_disposition)

    def _go_to_wrapup(self) -> None:
        self.wrapup.disposition.setFocus()

    def _show_source_health(self, result: LookupResult) -> None:
        from agentdesk.records.model import SourceState

        bad = [s for s in result.sources if s.state in (SourceState.ERROR, SourceState.TIMEOUT, SourceState.STALE)]
        names = ", ".join(s.name for s in result.sources)
        text = f"Sources: {names}" + (f" · {', '.join(f'{s.name} {s.state.value}' for s in bad)}" if bad else "")
        unavailable = self._unavailable_sources
        if unavailable:
            text += f" · {len(unavailable)} unavailable"
        self.sources_status.setText(text)
        self.sources_status.setToolTip("\n".join([*(f"{s.name}: {s.reason}" for s in bad), *unavailable]))
        self.sources_status.setStyleSheet("color:#b91c1c;" if unavailable else ("color:#b45309;" if bad else ""))

    def _disable_call_driven_states(self) -> None:
        from agentdesk.telephony.agent_state import AgentState

        model = self.agent_state.model()
        for row in range(self.agent_state.count()):
            state, _reason = self.agent_state.itemData(row)
            if state in (AgentState.ON_CALL, AgentState.WRAP_UP):
                item = model.item(row)  # type: ignore[attr-defined]
                item.setEnabled(False)  # calls set these, not the agent

    def _agent_state_chosen(self, index: int) -> None:
        state, reason = self.agent_state.itemData(index)
        self.agent_state_requested.emit(state, reason)

    def restore_layout(self, layout: Layout) -> None:
        """Apply a layout read by `read_layout` (on a worker thread) before the window is shown; the splitters and
        toolbars get theirs when the desk is built."""
        self._layout = dict(layout)
        if "geometry" in layout:
            self.restoreGeometry(layout["geometry"])
        if self.built:
            self._restore_panels()

    def _restore_panels(self) -> None:
        for key, restore in (
            ("state", self.restoreState),
            ("splitter", self.splitter.restoreState),
            ("right_splitter", self.right_splitter.restoreState),
        ):
            if key in self._layout:
                restore(self._layout[key])

    def save_layout(self) -> Future[None]:
        """Snapshot the layout here, write it on a worker thread (the file write never blocks the GUI)."""
        from concurrent.futures import ThreadPoolExecutor

        from agentdesk.ui.layout import write_layout

        layout = {"geometry": self.saveGeometry()}
        if self.built:  # closed while starting: the panels' layout from the last run stays as it was
            layout |= {
                "state": self.saveState(),
                "splitter": self.splitter.saveState(),
                "right_splitter": self.right_splitter.saveState(),
            }
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="window-layout")
        self.layout_saved = writer.submit(write_layout, self._state_file, layout)
        writer.shutdown(wait=False)  # the thread ends after the write; interpreter exit waits for it
        return self.layout_saved

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        self.closed_while_starting = not self.built
        self.closing.emit()
        event.accept()
