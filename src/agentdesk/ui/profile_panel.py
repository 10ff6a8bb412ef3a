"""The profile panel: the merged caller profile, where each fact came from, and how each source is doing."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from agentdesk.base.phone import display_phone
from agentdesk.records.lookup import parse_search
from agentdesk.records.model import (
    FIELD_LABELS,
    CareItem,
    LookupResult,
    PatientProfile,
    SourceState,
    SourceStatus,
)
from agentdesk.ui.care_view import CareView, flags

HEADER_FIELDS = {"given_name", "family_name"}
STATE_COLOURS = {
    SourceState.OK: "#15803d",
    SourceState.EMPTY: "#4b5563",
    SourceState.TIMEOUT: "#b45309",
    SourceState.ERROR: "#b91c1c",
    SourceState.PENDING: "#1d4ed8",
    SourceState.STALE: "#b45309",
}


class SourceChip(QWidget):
    """One backend's progress for the current lookup: a busy bar while it loads, then its outcome."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.label = QLabel(name)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: the source has not answered yet
        self.busy.setFixedSize(60, 8)
        self.busy.setTextVisible(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 8, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.busy)

    def show_status(self, status: SourceStatus) -> None:
        pending = status.state is SourceState.PENDING
        self.busy.setVisible(pending)
        if pending:
            text = f"{status.name}: loading"
        elif status.state is SourceState.OK:
            text = f"{status.name}: {status.records} record(s), {status.elapsed_ms:.0f} ms"
        elif status.state is SourceState.EMPTY:
            text = f"{status.name}: no record"
        elif status.state is SourceState.STALE:
            text = f"{status.name}: {status.records} record(s), stale"
        else:
            text = f"{status.name}: {status.state.value}"
        self.label.setText(text)
        self.label.setToolTip(status.reason)
        self.label.setStyleSheet(f"color:{STATE_COLOURS[status.state]}; font-weight:600;")


class ProfilePanel(QWidget):
    patient_shown = Signal(object)  # PatientProfile, for the audit log
    identity_decided = Signal(object, str)  # list of record refs, "same" | "different"
    search_requested = Signal(str)  # what the agent typed: an MRN, or a name and a birth date

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Caller profile")
        self.title.setObjectName("PanelTitle")
        self.sources_row = QHBoxLayout()
        self.sources_row.setSpacing(4)
        self.chips: dict[str, SourceChip] = {}
        self.message = QLabel("No call yet.")
        self.message.setObjectName("ProfileMessage")
        self.message.setWordWrap(True)
        self.candidates = QComboBox()
        self.candidates.setObjectName("Candidates")
        self.candidates.setAccessibleName("People who use this number")
        self.candidates.currentIndexChanged.connect(self._candidate_chosen)
        self.name_label = QLabel("")
        self.name_label.setObjectName("PatientName")
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label = QLabel("")
        self.summary_label.setObjectName("PatientSummary")
        self.badges = QLabel("")
        self.badges.setObjectName("PatientBadges")
        self.not_same_button = QPushButton("Not the same person")
        self.not_same_button.setObjectName("NotSamePerson")
        self.not_same_button.setToolTip("These records belong to different people: split them, for every agent")
        self.not_same_button.clicked.connect(self._split_clicked)
        self.confirm_button = QPushButton("Confirm match")
        self.confirm_button.setObjectName("ConfirmMatch")
        self.confirm_button.setToolTip("These records are one person: remember it for every later lookup")
        self.confirm_button.clicked.connect(self._confirm_clicked)
        self.same_as_button = QToolButton()
        self.same_as_button.setObjectName("SamePersonAs")
        self.same_as_button.setText("Same person as…")
        self.same_as_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.same_as_menu = QMenu(self.same_as_button)
        self.same_as_button.setMenu(self.same_as_menu)
        # The row keeps the buttons' height while they are hidden: the tabs below do not jump when a second
        # source answers and "Confirm match" appears.
        actions_row = QWidget()
        actions_row.setMinimumHeight(
            max(self.confirm_button.sizeHint().height(), self.same_as_button.sizeHint().height())
        )
        actions = QHBoxLayout(actions_row)
        actions.setContentsMargins(0, 0, 0, 0)
        actions.addWidget(self.badges, 1)
        for button in (self.confirm_button, self.not_same_button, self.same_as_button):
            actions.addWidget(button)
        self.care = CareView()
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("ProfileFields")
        self.table.setHorizontalHeaderLabels(["Field", "Value", "Source", "Updated"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column in (0, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)

        self.search = QLineEdit()
        self.search.setObjectName("PatientSearch")
        self.search.setPlaceholderText("Search by MRN, or name and birth date (e.g. Lopez, Ana 1984-02-03), Enter")
        self.search.setAccessibleName("Search for the caller")
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self._search_entered)
        self.search_feedback = QLabel("")
        self.search_feedback.setObjectName("SearchFeedback")
        self.search_feedback.setStyleSheet("color:#b91c1c;")
        self.search_feedback.hide()
        self.sources_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.search)
        layout.addWidget(self.search_feedback)
        layout.addLayout(self.sources_row)
        layout.addWidget(self.message)
        layout.addWidget(self.candidates)
        layout.addWidget(self.name_label)
        layout.addWidget(self.summary_label)
        layout.addWidget(actions_row)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("ProfileTabs")
        self.tabs.addTab(self.table, "&Profile")
        self.tabs.addTab(self.care, "&Care && contacts")
        layout.addWidget(self.tabs, 1)
        self._patients: tuple[PatientProfile, ...] = ()
        self._shown_key = ""
        self._history: list[CareItem] = []
        self._searched = ""  # the agent's last search, named when it finds no one
        self.clear()

    # -- public -----------------------------------------------------------------------------------------------
    def clear(self, message: str = "No call yet.") -> None:
        self._patients = ()
        self._history = []
        self._shown_key = ""
        self.message.setText(message)
        self.message.show()
        self.candidates.hide()
        for label in (self.name_label, self.summary_label):
            label.clear()
            label.hide()  # no empty gap above the tabs while there is nobody to show
        self.badges.clear()
        self.table.setRowCount(0)
        self.care.clear()
        for button in (self.confirm_button, self.not_same_button, self.same_as_button):
            button.hide()

    def show_search_problem(self, message: str | None) -> None:
        """Say what is wrong with the search (None hides it); what the agent typed stays."""
        self.search_feedback.setText(message or "")
        self.search_feedback.setVisible(bool(message))

    def _search_entered(self) -> None:
        text = self.search.text().strip()
        if text:
            self._searched = text
            self.show_search_problem(None)
            self.search_requested.emit(text)

    def show_history(self, history: list[CareItem]) -> None:
        """Prior contact-center interactions with this caller, from the store."""
        self._history = history
        patient = self.shown_patient
        if patient is not None:
            self._show_patient(patient)

    def show_lookup(self, result: LookupResult) -> None:
        self._show_sources(result.sources)
        patients = result.patients
        if not patients:
            self._patients = ()
            self.clear(self._nobody_message(result))
            return
        keys_before = [p.key for p in self._patients]
        self._patients = patients
        if len(patients) > 1:
            self.message.setText(f"{len(patients)} people use this number. Choose who is calling:")
            self.message.show()
            if keys_before != [p.key for p in patients]:
                self.candidates.blockSignals(True)
                self.candidates.clear()
                for patient in patients:
                    self.candidates.addItem(self._candidate_text(patient), patient.key)
                chosen = next((i for i, p in enumerate(patients) if p.key == self._shown_key), 0)
                self.candidates.setCurrentIndex(chosen)
                self.candidates.blockSignals(False)
            self.candidates.show()
            self._show_patient(patients[max(self.candidates.currentIndex(), 0)])
        else:
            self.message.hide()
            self.candidates.hide()
            self._show_patient(patients[0])

    def _nobody_message(self, result: LookupResult) -> str:
        """Why nobody is shown, and what the agent can do about it: the advice depends on whether the sources
        answered, and on what was looked up (the caller's number, or the agent's search)."""
        searched = not result.phone
        what = f"“{self._searched}”" if searched else display_phone(result.phone)
        if not result.sources:
            return (
                "No record system is connected to this desk (none configured, or none could start): nothing to look up."
            )
        if not result.done:
            return f"Looking up {what}…"
        # A source that could not search this way answered "empty" with its reason: it did not look.
        looked = [s for s in result.sources if not (s.state is SourceState.EMPTY and s.reason)]
        if not looked:
            return f"No record system here can search for {what} this way: try an MRN, or a name and birth date."
        failed = [s.name for s in looked if s.state in (SourceState.ERROR, SourceState.TIMEOUT)]
        answered = [s.name for s in looked if s.name not in failed]
        if not answered:
            silent = ", ".join(failed)
            return f"No answer for {what}: {silent} did not respond, so the caller may well be known. Search again."
        where = f" in {', '.join(answered)}" + (f" ({', '.join(failed)} did not respond)" if failed else "")
        if not searched:
            advice = "a new caller, or one calling from another number: ask for their name and birth date and search"
            return f"No record for {what}{where}: {advice}."
        if self._is_mrn(self._searched):
            return f"No record with MRN {what}{where}: check the number, or search by name and birth date."
        return f"No record matches {what}{where}: check the spelling and the birth date, or search by MRN."

    @staticmethod
    def _is_mrn(text: str) -> bool:
        try:
            return bool(parse_search(text).mrn)
        except ValueError:
            return False

    @property
    def shown_patient(self) -> PatientProfile | None:
        return next((p for p in self._patients if p.key == self._shown_key), None)

    # -- internals ---------------------------------------------------------------------------------------
    def _show_sources(self, statuses: tuple[SourceStatus, ...]) -> None:
        for status in statuses:
            chip = self.chips.get(status.name)
            if chip is None:
                chip = self.chips[status.name] = SourceChip(status.name)
                self.sources_row.insertWidget(self.sources_row.count() - 1, chip)
            chip.show_status(status)

    def _candidate_chosen(self, index: int) -> None:
        if 0 <= index < len(self._patients):
            self._show_patient(self._patients[index])

    @staticmethod
    def _candidate_text(patient: PatientProfile) -> str:
        sources = ", ".join(sorted({r.source for r in patient.records}))
        born = patient.value("birth_date") or "birth date unknown"
        unsure = " · possibly the same person as another entry" if patient.possible_matches else ""
        return f"{patient.display_name} · born {born} · {sources}{unsure}"

    def _show_patient(self, patient: PatientProfile) -> None:
        self.name_label.show()
        self.summary_label.show()
        self.name_label.setText(patient.display_name)
        age = patient.age(date.today())
        parts = [
            f"{age} y" if age is not None else "",
            f"born {patient.value('birth_date')}" if patient.value("birth_date") else "",
            patient.value("sex"),
            patient.value("mrn"),
        ]
        self.summary_label.setText(" · ".join(p for p in parts if p))
        badges = []
        if patient.value("language") and patient.value("language").lower() != "english":
            badges.append(f"Language: {patient.value('language')}")
        if patient.value("interpreter_needed") == "yes":
            badges.append("Interpreter needed")
        if patient.value("preferred_contact"):
            badges.append(f"Prefers {patient.value('preferred_contact')}")
        conflicts = sum(1 for f in patient.fields.values() if f.conflicts)
        if conflicts:
            badges.append(f"⚠ {conflicts} conflicting field(s)")
        if patient.possible_matches:
            badges.append("⚠ Possible duplicate: check and use Same person as…")
        badges = flags(patient, self._history, date.today()) + badges
        self.badges.setText("   ".join(badges))
        self._fill_table(patient)
        self.care.show_items(patient.items + self._history)
        self._show_identity_actions(patient)
        self._shown_key = patient.key
        self.patient_shown.emit(patient)  # every render: the audit dedupes, a grown profile adds records

    def _show_identity_actions(self, patient: PatientProfile) -> None:
        several_sources = len({r.source for r in patient.records}) > 1
        self.confirm_button.setVisible(several_sources)
        self.not_same_button.setVisible(several_sources)
        others = [p for p in self._patients if p.key != patient.key]
        self.same_as_menu.clear()
        for other in others:
            action = self.same_as_menu.addAction(self._candidate_text(other))
            action.triggered.connect(lambda _checked=False, o=other: self._same_as(o))
        self.same_as_button.setVisible(bool(others))

    def _refs(self, patient: PatientProfile) -> list[str]:
        return [r.ref for r in patient.records]

    def _split_clicked(self) -> None:
        if self.shown_patient is not None:
            self.identity_decided.emit(self._refs(self.shown_patient), "different")

    def _confirm_clicked(self) -> None:
        if self.shown_patient is not None:
            self.identity_decided.emit(self._refs(self.shown_patient), "same")

    def _same_as(self, other: PatientProfile) -> None:
        if self.shown_patient is not None:
            self.identity_decided.emit(self._refs(self.shown_patient) + self._refs(other), "same")

    def _fill_table(self, patient: PatientProfile) -> None:
        rows = [(name, field) for name, field in patient.fields.items() if name not in HEADER_FIELDS]
        self.table.setRowCount(len(rows))
        for row, (name, field) in enumerate(rows):
            value = field.chosen.value
            if name == "phone":
                value = display_phone(value)
            value_item = QTableWidgetItem(value)
            if field.conflicts:
                value_item.setText(f"{value}   ⚠ {len(field.conflicts) + 1} values")
                value_item.setForeground(QColor("#b45309"))
                value_item.setToolTip(
                    "\n".join(
                        f"{other.source}: {other.value}" + (f" ({other.updated.date()})" if other.updated else "")
                        for other in field.conflicts
                    )
                )
            updated = field.chosen.updated.date().isoformat() if field.chosen.updated else ""
            for column, item in enumerate(
                (
                    QTableWidgetItem(FIELD_LABELS.get(name, name)),
                    value_item,
                    QTableWidgetItem(field.chosen.source),
                    QTableWidgetItem(updated),
                )
            ):
                self.table.setItem(row, column, item)
