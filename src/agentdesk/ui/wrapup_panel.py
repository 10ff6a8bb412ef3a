"""The wrap-up area: one step to record the outcome of the call."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agentdesk.config.schema import DispositionType
from agentdesk.store.dispositions import MAX_NOTES


class WrapUpPanel(QWidget):
    save_requested = Signal(str, str)  # disposition code, notes

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Wrap-up")
        self.title.setObjectName("PanelTitle")
        self.disposition = QComboBox()
        self.disposition.setObjectName("Disposition")
        self.notes = QPlainTextEdit()
        self.notes.setObjectName("Notes")
        self.notes.setPlaceholderText("Notes for the record (no need to repeat the profile)")
        self.notes.setTabChangesFocus(True)
        self.save_button = QPushButton("Save disposition")
        self.save_button.setObjectName("SaveDisposition")
        self.save_button.setToolTip("Save the outcome of this call (Ctrl+S)")
        self.save_button.clicked.connect(self._save_clicked)
        self.feedback = QLabel("")
        self.feedback.setObjectName("WrapUpFeedback")
        self.feedback.setWordWrap(True)

        form = QFormLayout()
        label = QLabel("&Disposition")
        label.setBuddy(self.disposition)
        notes_label = QLabel("&Notes")
        notes_label.setBuddy(self.notes)
        form.addRow(label, self.disposition)
        form.addRow(notes_label, self.notes)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(form, 1)
        layout.addWidget(self.save_button)
        layout.addWidget(self.feedback)
        self.set_call(None, [])

    def set_call(self, call_id: str | None, dispositions: list[DispositionType]) -> None:
        """A new call: fresh form with the campaign's dispositions (a repeated call id keeps what was typed)."""
        if call_id == getattr(self, "_call_id", None) and call_id is not None:
            return
        self._call_id = call_id
        self.disposition.clear()
        self.disposition.addItem("Choose an outcome…", "")
        for item in dispositions:
            self.disposition.addItem(item.label, item.code)
        self.notes.clear()
        self.feedback.clear()
        enabled = call_id is not None
        for widget in (self.disposition, self.notes, self.save_button):
            widget.setEnabled(enabled)

    def _save_clicked(self) -> None:
        code = str(self.disposition.currentData() or "")
        notes = self.notes.toPlainText()
        if not code:
            self.show_error("Disposition: choose an outcome before saving.")
            self.disposition.setFocus()
            return
        if len(notes) > MAX_NOTES:
            self.show_error(f"Notes: {len(notes)} characters; at most {MAX_NOTES}.")
            self.notes.setFocus()
            return
        self.save_button.setEnabled(False)
        self.feedback.setText("Saving…")
        self.feedback.setStyleSheet("")
        self.save_requested.emit(code, notes)

    def show_saved(self, label: str, at: str) -> None:
        self.save_button.setEnabled(True)
        self.feedback.setStyleSheet("color:#15803d; font-weight:600;")
        self.feedback.setText(f"Saved: {label} at {at}")

    def show_error(self, message: str) -> None:
        """Keep everything the agent typed; say what is wrong and where."""
        self.save_button.setEnabled(self._call_id is not None)
        self.feedback.setStyleSheet("color:#b91c1c; font-weight:600;")
        self.feedback.setText(message)
