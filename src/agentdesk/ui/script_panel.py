"""The script panel: what to say now (large), how to answer, where the conversation has been, and a place for
what the caller asked that the script does not cover. Fully keyboard operable:

    1-9        choose an answer (choice questions)      Y / N    yes / no
    Enter      go on (say and action steps), or submit a typed answer
    Alt+Left   back one step                            Ctrl+Shift+R   restart the script
    Alt+O      type an off-script note (Enter saves it)  Alt+C          switch campaign
    Alt+A      the step's action (open the booking, referral or callback form; transfer)
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from agentdesk.campaigns.model import ActionKind, AnswerKind, Campaign, StepKind
from agentdesk.campaigns.runner import AnswerInvalid, ScriptRun

ACTION_LABELS = {
    ActionKind.BOOKING: "Open the &booking form",
    ActionKind.REFERRAL: "Open the &referral form",
    ActionKind.CALLBACK: "Open the &callback form",
    ActionKind.TRANSFER: "&Transfer the call",
}
PLACEHOLDERS = {
    AnswerKind.TEXT: "Type the answer, then Enter",
    AnswerKind.NUMBER: "A number, then Enter",
    AnswerKind.DATE: "YYYY-MM-DD, then Enter",
}


class ScriptPanel(QWidget):
    changed = Signal()  # the run moved (answer, back, restart, note): the window updates the wrap-up
    action_requested = Signal(str, str)  # action kind, transfer target
    campaign_chosen = Signal(str)  # campaign code
    wrapup_requested = Signal()

    def __init__(self, agent_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._agent_name = agent_name
        self.run: ScriptRun | None = None
        self.title = QLabel("Script")
        self.title.setObjectName("PanelTitle")
        self.campaign_label = QLabel("No call")
        self.campaign_label.setObjectName("CampaignName")
        self.reason_label = QLabel("")
        self.reason_label.setObjectName("CampaignReason")
        self.campaign_choice = QComboBox()
        self.campaign_choice.setObjectName("CampaignChoice")
        self.campaign_choice.setAccessibleName("Switch campaign")
        self.campaign_choice.setToolTip("Switch this call to another campaign (Alt+C); the switch is audited")
        self.campaign_choice.activated.connect(self._campaign_activated)
        self.campaign_choice.setMinimumContentsLength(16)
        self.progress = QProgressBar()
        self.progress.setObjectName("ScriptProgress")
        self.progress.setFormat("step %v of %m")
        self.progress.setFixedWidth(130)
        self.progress.setToolTip("Steps so far, and the fewest still to go")
        self.step_title = QLabel("")
        self.step_title.setObjectName("StepTitle")
        self.text_label = QLabel("")
        self.text_label.setObjectName("ScriptText")
        self.text_label.setWordWrap(True)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note_label = QLabel("")
        self.note_label.setObjectName("ScriptNote")
        self.note_label.setWordWrap(True)
        self.answers = QWidget()
        self.answers.setObjectName("ScriptAnswers")
        self.answer_layout = QVBoxLayout(self.answers)
        self.answer_layout.setContentsMargins(0, 0, 0, 0)
        self.answer_buttons: list[QPushButton] = []
        self._typed = False  # the current step takes a typed answer
        self.answer_edit = QLineEdit()
        self.answer_edit.setObjectName("ScriptAnswerEdit")
        self.answer_edit.returnPressed.connect(self._typed_answer)
        self.next_button = QPushButton("Next ⏎")
        self.next_button.setObjectName("ScriptNext")
        self.next_button.clicked.connect(self._advance)
        self.next_button.setAutoDefault(True)  # Enter on a focused button clicks it, outside dialogs too
        self.action_button = QPushButton("")
        self.action_button.setObjectName("ScriptAction")
        self.action_button.clicked.connect(self._action)
        self.action_button.setAutoDefault(True)
        self.error_label = QLabel("")
        self.error_label.setObjectName("ScriptError")
        self.back_button = QPushButton("◀ Back")
        self.back_button.setObjectName("ScriptBack")
        self.back_button.setToolTip("Back one step (Alt+Left)")
        self.back_button.clicked.connect(self.back)
        self.restart_button = QPushButton("Restart")
        self.restart_button.setObjectName("ScriptRestart")
        self.restart_button.setToolTip("Start the script again (Ctrl+Shift+R)")
        self.restart_button.clicked.connect(self.restart)
        self.path_list = QListWidget()
        self.path_list.setObjectName("ScriptPath")
        self.path_list.setAccessibleName("Path so far")
        self.path_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.path_list.setMinimumHeight(48)
        self.path_list.setMaximumHeight(110)  # the off-script note below stays in view
        self.note_edit = QLineEdit()
        self.note_edit.setObjectName("OffScriptNote")
        self.note_edit.setPlaceholderText("Off script: what did the caller ask that the script does not cover? (Alt+O)")
        self.note_edit.returnPressed.connect(self._add_note)
        self._build_layout()
        self._shortcuts()
        self.clear()

    def _build_layout(self) -> None:
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.campaign_label, 1)
        header.addWidget(self.campaign_choice)
        steps = QHBoxLayout()
        steps.addWidget(self.step_title, 1)
        steps.addWidget(self.progress)
        controls = QHBoxLayout()
        controls.addWidget(self.back_button)
        controls.addWidget(self.restart_button)
        controls.addStretch(1)
        controls.addWidget(self.action_button)
        controls.addWidget(self.next_button)
        content = QWidget()
        content.setObjectName("ScriptContent")
        layout = QVBoxLayout(content)
        layout.addLayout(header)
        layout.addWidget(self.reason_label)
        layout.addLayout(steps)
        layout.addWidget(self.text_label)
        layout.addWidget(self.note_label)
        layout.addWidget(self.answers)
        layout.addWidget(self.answer_edit)
        layout.addWidget(self.error_label)
        layout.addLayout(controls)
        path_title = QLabel("Path so far")
        path_title.setObjectName("PathTitle")
        layout.addWidget(path_title)
        layout.addWidget(self.path_list, 1)
        layout.addWidget(self.note_edit)
        # Scrolls rather than forcing a tall window: the panel shares its column with the wrap-up.
        scroll = QScrollArea()
        scroll.setWidget(content)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def _shortcuts(self) -> None:
        scope = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for number in range(1, 10):
            QShortcut(QKeySequence(str(number)), self, lambda n=number: self._choose(n - 1), context=scope)
        QShortcut(QKeySequence("Y"), self, lambda: self._answer("yes"), context=scope)
        QShortcut(QKeySequence("N"), self, lambda: self._answer("no"), context=scope)
        QShortcut(QKeySequence("Alt+Left"), self, self.back, context=scope)
        QShortcut(QKeySequence("Ctrl+Shift+R"), self, self.restart, context=scope)
        QShortcut(QKeySequence("Alt+O"), self, self.note_edit.setFocus, context=scope)
        QShortcut(QKeySequence("Alt+C"), self, self.campaign_choice.setFocus, context=scope)
        QShortcut(QKeySequence("Alt+A"), self, self.action_button.click, context=scope)

    # -- what the window calls -------------------------------------------------------------------------------
    def show_run(
        self, campaign: Campaign | None, reason: str, run: ScriptRun | None, campaigns: list[Campaign]
    ) -> None:
        """Show a call's campaign and its run (the same run again only refreshes the text)."""
        if campaign is None:
            self.campaign_label.setText("No campaign for this call")
        else:
            line = f" · {campaign.service_line}" if campaign.service_line else ""
            self.campaign_label.setText(f"{campaign.name}{line}")
        self.reason_label.setText(reason[:1].upper() + reason[1:] if reason else "")
        self.campaign_choice.blockSignals(True)
        self.campaign_choice.clear()
        self.campaign_choice.addItem("Switch campaign…", "")
        for other in campaigns:
            if campaign is None or other.code != campaign.code:
                self.campaign_choice.addItem(other.name, other.code)
        self.campaign_choice.blockSignals(False)
        self.campaign_choice.setEnabled(run is not None or bool(campaigns))
        if run is not self.run:
            self.error_label.clear()
        self.run = run
        self._render(keep_focus=True)

    def refresh(self) -> None:
        """The profile arrived or changed: fill the text again."""
        self._render(keep_focus=True)

    def clear(self) -> None:
        self.run = None
        self.campaign_label.setText("No call")
        self.reason_label.clear()
        self.campaign_choice.clear()
        self.campaign_choice.setEnabled(False)
        self._render()

    # -- the agent's moves --------------------------------------------------------------------------------------
    def back(self) -> None:
        if self.run is not None:
            self.run.back()
            self._moved()

    def restart(self) -> None:
        if self.run is not None:
            self.run.restart()
            self._moved()

    def _answer(self, value: object) -> None:
        run = self.run
        if run is None or run.step.kind is not StepKind.ASK:
            return
        if run.step.answer is AnswerKind.YES_NO or value not in ("yes", "no"):
            try:
                run.answer(value)
            except AnswerInvalid as exc:
                self._show_error(str(exc))
                return
            self._moved()

    def _choose(self, index: int) -> None:
        run = self.run
        if run is not None and run.step.answer is AnswerKind.CHOICE and index < len(run.step.choices):
            self._answer(run.step.choices[index])

    def _typed_answer(self) -> None:
        self._answer(self.answer_edit.text())

    def _advance(self) -> None:
        run = self.run
        if run is None:
            return
        if run.finished:
            self.wrapup_requested.emit()
            return
        if run.step.kind is StepKind.ASK and self._typed and self.answer_edit.text().strip():
            self._typed_answer()
            return
        try:
            run.advance()
        except AnswerInvalid as exc:
            self._show_error(str(exc))
            return
        self._moved()

    def _action(self) -> None:
        run = self.run
        if run is not None and run.step.action is not None:
            self.action_requested.emit(run.step.action.value, run.step.transfer_to)

    def _add_note(self) -> None:
        if self.run is None or not self.note_edit.text().strip():
            return
        self.run.add_note(self.note_edit.text())
        self.note_edit.clear()
        self._render(keep_focus=True)
        self.changed.emit()

    def _campaign_activated(self, index: int) -> None:
        code = str(self.campaign_choice.itemData(index) or "")
        if code:
            self.campaign_chosen.emit(code)

    def _moved(self) -> None:
        self.error_label.clear()
        self._render()
        self.changed.emit()

    def _show_error(self, message: str) -> None:
        _step, _, detail = message.partition(": ")
        self.error_label.setText(f"{detail[:1].upper()}{detail[1:]}." if detail else message)

    # -- rendering ------------------------------------------------------------------------------------------------
    def _render(self, keep_focus: bool = False) -> None:
        """Show the run's current step. Focus moves to its answer only when the agent is working in this panel
        (or asked for it): a call event arriving while they type in the wrap-up must not steal the keyboard."""
        run = self.run
        focused = QApplication.focusWidget()
        had_focus = focused is not None and (focused in self.answer_buttons or self.isAncestorOf(focused))
        for button in self.answer_buttons:
            button.hide()
            self.answer_layout.removeWidget(button)
            button.deleteLater()
        self.answer_buttons = []
        self._typed = False
        self.answer_edit.hide()
        for widget in (self.back_button, self.restart_button, self.note_edit, self.next_button):
            widget.setEnabled(run is not None)
        if run is None:
            for label in (self.step_title, self.text_label, self.note_label, self.error_label):
                label.clear()
            self.text_label.setText("The script appears here when a call arrives.")
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.action_button.hide()
            self.path_list.clear()
            return
        step = run.step
        done, to_go = run.progress
        self.progress.setRange(0, done + to_go)
        self.progress.setValue(done + 1)
        self.step_title.setText(step.label)
        self.text_label.setText(run.text())
        note = run.note_text()
        self.note_label.setText(note)
        self.note_label.setVisible(bool(note))
        self.back_button.setEnabled(done > 0)
        self._answer_controls(run)
        self._render_path(run)
        if not keep_focus or had_focus:
            self._focus_answer()

    def _answer_controls(self, run: ScriptRun) -> None:
        step = run.step
        if step.kind is StepKind.ASK and step.answer in (AnswerKind.CHOICE, AnswerKind.YES_NO):
            labels = (
                [f"{n}   {choice}" for n, choice in enumerate(step.choices, start=1)]
                if step.answer is AnswerKind.CHOICE
                else ["Y   Yes", "N   No"]
            )
            values = step.choices if step.answer is AnswerKind.CHOICE else ["yes", "no"]
            for label, value in zip(labels, values, strict=True):
                button = QPushButton(label)
                button.setObjectName("ScriptChoice")
                button.setAutoDefault(True)
                button.clicked.connect(lambda _=False, v=value: self._answer(v))
                self.answer_layout.addWidget(button)
                button.setVisible(self.isVisible())  # now, not on the layout's queued show: focus needs it
                self.answer_buttons.append(button)
        elif step.kind is StepKind.ASK and step.answer is not None:
            self.answer_edit.clear()
            self.answer_edit.setPlaceholderText(PLACEHOLDERS[step.answer])
            self.answer_edit.show()
            self._typed = True
        optional = step.kind is StepKind.ASK and not step.required
        self.next_button.setText(
            "Wrap up ⏎"
            if run.finished
            else ("Skip ⏎" if optional else ("Next ⏎" if step.kind is not StepKind.ASK else "Answer ⏎"))
        )
        self.next_button.setVisible(step.kind is not StepKind.ASK or optional or self._typed)
        if run.finished:
            self.error_label.setText(f"Suggested outcome: {_label(step.disposition)}")
            self.error_label.setObjectName("ScriptSuggestion")
        else:
            self.error_label.setObjectName("ScriptError")
        self.error_label.setStyleSheet(
            "color:#15803d; font-weight:600;" if run.finished else "color:#b91c1c; font-weight:600;"
        )
        if step.action is not None:
            target = f" to {step.transfer_to}" if step.transfer_to else ""
            self.action_button.setText(ACTION_LABELS[step.action] + target)
            self.action_button.show()
        else:
            self.action_button.hide()

    def _render_path(self, run: ScriptRun) -> None:
        self.path_list.clear()
        for visit in run.visits[:-1]:
            step = run.script.steps[visit.step_id]
            if step.kind is StepKind.BRANCH:
                continue
            answer = f": {visit.answer}" if visit.answer is not None else ""
            self.path_list.addItem(f"✓ {step.label}{answer}")
        for note in run.notes:
            self.path_list.addItem(f"✎ off script at {run.script.steps[note.step_id].label}: {note.value}")
        self.path_list.scrollToBottom()

    def focus_answer(self) -> None:
        """Put the keyboard on the current step's answer (Ctrl+J from anywhere in the window)."""
        self._focus_answer()

    def _focus_answer(self) -> None:
        if self._typed:
            self.answer_edit.setFocus()
        elif self.answer_buttons:
            self.answer_buttons[0].setFocus()
        elif not self.next_button.isHidden():
            self.next_button.setFocus()


def _label(code: str) -> str:
    return code.replace("_", " ").capitalize()
