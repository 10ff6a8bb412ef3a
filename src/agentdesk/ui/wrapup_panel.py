"""The wrap-up area: the outcome of the call, its booking / referral / callback, notes, and a timer from hang-up.

Everything typed is a draft: each change (debounced) is handed to the desk, which writes it off the GUI thread,
so a crash reopens the wrap-up as it was. Fully keyboard operable: Ctrl+D to the disposition, Tab through the
fields, Space to open a detail form, Ctrl+S to save.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from agentdesk.base.time import utc_now
from agentdesk.config.schema import DispositionType
from agentdesk.store.dispositions import MAX_NOTES
from agentdesk.store.outcomes import WrapUpForm
from agentdesk.ui.outcome_forms import ERROR_STYLE, DetailForm, booking_form, callback_form, referral_form

DRAFT_DELAY_MS = 500


def _clock(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    return f"{seconds // 60}:{seconds % 60:02d}"


class WrapUpPanel(QWidget):
    save_requested = Signal(object)  # WrapUpForm
    draft_changed = Signal(object)  # WrapUpForm, after the agent paused typing
    discard_requested = Signal(str)  # the agent's reason: an ended call closed without a disposition

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Wrap-up")
        self.title.setObjectName("PanelTitle")
        self.timer_label = QLabel("")
        self.timer_label.setObjectName("WrapUpTimer")
        self.disposition = QComboBox()
        self.disposition.setObjectName("Disposition")
        self.disposition.currentIndexChanged.connect(self._disposition_changed)
        self.forms = {"booking": booking_form(), "referral": referral_form(), "callback": callback_form()}
        self.notes = QPlainTextEdit()
        self.notes.setObjectName("Notes")
        self.notes.setPlaceholderText("Notes for the record (no need to repeat the profile)")
        self.notes.setTabChangesFocus(True)
        self.notes.setMinimumHeight(60)
        self.notes.setMaximumHeight(140)
        self.notes.textChanged.connect(self._changed)
        self.save_button = QPushButton("Save disposition")
        self.save_button.setObjectName("SaveDisposition")
        self.save_button.setToolTip("Save the outcome of this call (Ctrl+S)")
        self.save_button.clicked.connect(self._save_clicked)
        self.feedback = QLabel("")
        self.feedback.setObjectName("WrapUpFeedback")
        self.feedback.setWordWrap(True)
        # Closing an ended call without a disposition: a deliberate, audited step behind a confirmation.
        self.discard_button = QPushButton("No wrap-up needed…")
        self.discard_button.setObjectName("DiscardWrapUp")
        self.discard_button.setToolTip("Close this ended call without a disposition (logged in the audit trail)")
        self.discard_button.clicked.connect(self._discard_clicked)
        self.discard_reason = QLineEdit()
        self.discard_reason.setObjectName("DiscardReason")
        self.discard_reason.setPlaceholderText("Why (optional): wrong number, silent line…")
        self.discard_reason.setMaxLength(200)
        self.discard_confirm = QPushButton("Close without disposition")
        self.discard_confirm.setObjectName("ConfirmDiscard")
        self.discard_confirm.clicked.connect(self._discard_confirmed)
        self.discard_keep = QPushButton("Keep")
        self.discard_keep.setObjectName("KeepWrapUp")
        self.discard_keep.clicked.connect(lambda: self._show_discard(False))
        self.discard_row = QWidget()
        self.discard_row.setObjectName("DiscardRow")
        confirm = QHBoxLayout(self.discard_row)
        confirm.setContentsMargins(0, 0, 0, 0)
        confirm.addWidget(self.discard_reason, 1)
        confirm.addWidget(self.discard_confirm)
        confirm.addWidget(self.discard_keep)
        self.discard_row.hide()
        self.written = QLabel("")  # the EHR's answer to this call's bookings and referrals (FHIR write-back)
        self.written.setObjectName("WrapUpWritten")
        self.written.setWordWrap(True)
        self._written: dict[tuple[str, str], tuple[str, str]] = {}

        body = QWidget()
        form = QFormLayout()
        label = QLabel("&Disposition")
        label.setBuddy(self.disposition)
        form.addRow(label, self.disposition)
        inner = QVBoxLayout(body)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addLayout(form)
        for detail in self.forms.values():
            detail.changed.connect(self._changed)
            inner.addWidget(detail)
        notes_label = QLabel("&Notes")
        notes_label.setBuddy(self.notes)
        inner.addWidget(notes_label)
        inner.addWidget(self.notes)
        inner.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("WrapUpScroll")
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.timer_label)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(scroll, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button, 1)
        buttons.addWidget(self.discard_button)
        layout.addLayout(buttons)
        layout.addWidget(self.discard_row)
        layout.addWidget(self.feedback)
        layout.addWidget(self.written)

        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(DRAFT_DELAY_MS)
        self._draft_timer.timeout.connect(lambda: self.draft_changed.emit(self.form()))
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._update_timer)
        self._ended_at: datetime | None = None
        self._limit_seconds = 0.0
        self._loading = False
        self._call_id: str | None = None
        self._types: dict[str, DispositionType] = {}
        self.set_call(None, [])

    # -- what the window tells it ----------------------------------------------------------------------------------
    def set_call(
        self,
        call_id: str | None,
        dispositions: list[DispositionType],
        *,
        draft: WrapUpForm | None = None,
        callback_defaults: dict[str, str] | None = None,
    ) -> None:
        """A new call: fresh form with the campaign's dispositions, or the draft kept for it (a repeated call id
        keeps what was typed)."""
        if call_id == self._call_id and call_id is not None:
            return
        self._draft_timer.stop()
        self._loading = True
        self._call_id = call_id
        self._types = {d.code: d for d in dispositions}
        self.disposition.clear()
        self.disposition.addItem("Choose an outcome…", "")
        for item in dispositions:
            self.disposition.addItem(item.label, item.code)
        for detail in self.forms.values():
            detail.clear(callback_defaults if detail.kind == "callback" else None)
        self.notes.clear()
        self.feedback.clear()
        self.written.clear()
        self._written.clear()
        self.disposition.setStyleSheet("")
        self.notes.setStyleSheet("")
        if draft is not None:
            self.load_form(draft)
        self._loading = False
        enabled = call_id is not None
        for widget in (self.disposition, self.notes, self.save_button, *self.forms.values()):
            widget.setEnabled(enabled)
        self.set_ended(None)

    def load_form(self, form: WrapUpForm) -> None:
        index = self.disposition.findData(form.code)
        self.disposition.setCurrentIndex(max(index, 0))
        for kind, detail in self.forms.items():
            if form.details.get(kind):
                detail.load(form.details[kind])
        self.notes.setPlainText(form.notes)
        self.notes.moveCursor(QTextCursor.MoveOperation.End)  # the agent carries on where the draft stopped

    def set_ended(self, ended_at: datetime | None, limit_seconds: float = 0.0) -> None:
        """The call hung up at `ended_at`: the wrap-up timer runs from then until the save (or the discard).
        None: nothing waits for a wrap-up (a live call, or one already saved)."""
        self._ended_at, self._limit_seconds = ended_at, limit_seconds
        self.discard_button.setVisible(ended_at is not None)
        if ended_at is None:
            self._show_discard(False)
            self._tick.stop()
            self.timer_label.clear()
        else:
            self._tick.start()
            self._update_timer()

    def form(self) -> WrapUpForm:
        details = {kind: values for kind, detail in self.forms.items() if (values := detail.values())}
        return WrapUpForm(str(self.disposition.currentData() or ""), self.notes.toPlainText(), details)

    def flush_draft(self) -> None:
        """Hand over a draft still waiting for its debounce (at exit)."""
        if self._draft_timer.isActive():
            self._draft_timer.stop()
            self.draft_changed.emit(self.form())

    # -- the agent's actions ---------------------------------------------------------------------------------------
    def _disposition_changed(self) -> None:
        chosen = self._types.get(str(self.disposition.currentData() or ""))
        required = chosen.required_details if chosen else set()
        for kind, detail in self.forms.items():
            title = detail.title().split(" (")[0]
            detail.setTitle(f"{title} (required)" if kind in required else title)
            if kind in required and not self._loading:
                detail.setChecked(True)
        self._changed()

    def _changed(self) -> None:
        if not self._loading and self._call_id is not None:
            self._draft_timer.start()

    def replace_dispositions(self, dispositions: list[DispositionType]) -> None:
        """The call moved to another campaign: its outcomes change, the notes typed so far stay."""
        chosen = str(self.disposition.currentData() or "")
        self._types = {d.code: d for d in dispositions}
        self.disposition.clear()
        self.disposition.addItem("Choose an outcome…", "")
        for item in dispositions:
            self.disposition.addItem(item.label, item.code)
        self.disposition.setCurrentIndex(max(self.disposition.findData(chosen), 0))

    def preselect(self, code: str) -> bool:
        """Select the script's suggested outcome unless the agent already chose one; True when selected.
        (The scripts' API into the wrap-up: the agent can still change it before saving.)"""
        if self._call_id is None or str(self.disposition.currentData() or "") or not code:
            return False
        index = self.disposition.findData(code)
        if index < 0:
            return False
        self.disposition.setCurrentIndex(index)
        return True

    def open_detail(self, kind: str) -> bool:
        """Open the booking, referral or callback form and put the keyboard in it (a script's action step)."""
        detail = self.forms.get(kind)
        if detail is None or self._call_id is None:
            return False
        detail.setChecked(True)
        first = next(iter(detail.fields.values()), None)
        (first or detail).setFocus()
        return True

    def _save_clicked(self) -> None:
        form = self.form()
        for detail in self.forms.values():
            detail.clear_errors()
        self.disposition.setStyleSheet("")
        self.notes.setStyleSheet("")
        if not form.code:
            self.show_error("Disposition: choose an outcome before saving.", "disposition")
            return
        if len(form.notes) > MAX_NOTES:
            self.show_error(f"Notes: {len(form.notes)} characters; at most {MAX_NOTES}.", "notes")
            return
        self._draft_timer.stop()  # the save replaces the draft
        self.save_button.setEnabled(False)
        self.feedback.setText("Saving…")
        self.feedback.setStyleSheet("")
        self.save_requested.emit(form)

    def _discard_clicked(self) -> None:
        self._show_discard(True)
        self.discard_reason.setFocus()

    def _show_discard(self, shown: bool) -> None:
        self.discard_row.setVisible(shown)
        self.discard_button.setEnabled(not shown)
        if not shown:
            self.discard_reason.clear()

    def _discard_confirmed(self) -> None:
        self._draft_timer.stop()
        self.discard_requested.emit(self.discard_reason.text().strip())

    def show_discarded(self, at: str) -> None:
        self._tick.stop()
        self.set_ended(None)
        self.feedback.setStyleSheet("color:#475569; font-weight:600;")
        self.feedback.setText(f"Closed without a disposition at {at} (logged)")

    def show_saved(self, label: str, at: str, version: int = 1) -> None:
        self.save_button.setEnabled(True)
        self._tick.stop()
        self.feedback.setStyleSheet("color:#15803d; font-weight:600;")
        again = f" (updated, version {version})" if version > 1 else ""
        self.feedback.setText(f"Saved: {label} at {at}{again}")

    def show_write_back(self, call_id: str, key: tuple[str, str], state: str, text: str) -> None:
        """What the EHR made of this call's booking or referral (`key`: kind, backend): its id, or why not yet."""
        if call_id != self._call_id:
            return
        self._written[key] = (state, text)
        lines = [line for _, (_, line) in sorted(self._written.items())]
        self.written.setText("\n".join(lines))
        states = {state for state, _ in self._written.values()}
        colour = "#b91c1c" if "refused" in states else ("#b45309" if "pending" in states else "#15803d")
        self.written.setStyleSheet(f"color:{colour};")

    def show_error(self, message: str, field: str = "") -> None:
        """Keep everything the agent typed; say what is wrong and point at the field."""
        self.save_button.setEnabled(self._call_id is not None)
        self.feedback.setStyleSheet("color:#b91c1c; font-weight:600;")
        self.feedback.setText(message)
        kind, _, name = field.partition(".")
        if kind in self.forms:
            self.forms[kind].mark_error(name, message).setFocus()
        elif field in ("disposition", "notes"):
            widget = self.disposition if field == "disposition" else self.notes
            widget.setStyleSheet(ERROR_STYLE)
            widget.setFocus()

    def _update_timer(self) -> None:
        if self._ended_at is None:
            return
        elapsed = (utc_now() - self._ended_at).total_seconds()
        text = f"Wrap-up {_clock(elapsed)}"
        if self._limit_seconds:
            text += f" of {_clock(self._limit_seconds)}"
        over = bool(self._limit_seconds) and elapsed > self._limit_seconds
        self.timer_label.setText(text)
        self.timer_label.setStyleSheet("color:#b91c1c; font-weight:600;" if over else "color:#475569;")


__all__ = ["DetailForm", "WrapUpPanel"]
