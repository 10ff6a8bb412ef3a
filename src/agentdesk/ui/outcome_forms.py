"""The booking, referral and callback forms of the wrap-up: each a checkable group of plain fields whose text
is read as a WrapUpForm section, and which can point at one of its fields when the store's validation names it."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGroupBox, QLineEdit, QVBoxLayout, QWidget

from agentdesk.store.outcomes import REFERRAL_SOURCES, REFERRAL_TARGETS, URGENCIES

TIME_HINT = "YYYY-MM-DD HH:MM"
ERROR_STYLE = "border: 2px solid #b91c1c;"
Field = QLineEdit | QComboBox | QCheckBox


class DetailForm(QGroupBox):
    """One detail (kind = booking, referral or callback); checked = it is part of this wrap-up."""

    changed = Signal()

    def __init__(self, kind: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.kind = kind
        self.setObjectName(f"{kind.capitalize()}Form")
        self.setCheckable(True)
        self.setChecked(False)
        self.fields: dict[str, Field] = {}
        self.body = QWidget()  # folded away while unchecked: the panel stays short when a call has no booking
        self._layout = QFormLayout(self.body)
        self._layout.setContentsMargins(0, 0, 0, 0)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 4, 8, 4)
        outer.addWidget(self.body)
        self.body.setVisible(False)
        self.setFlat(True)
        self.toggled.connect(self._toggled)

    def add(self, name: str, label: str, field: Field, hint: str = "") -> None:
        field.setObjectName(f"{self.kind}.{name}")
        field.setAccessibleName(f"{self.title().replace('&', '')}: {label.replace('&', '')}")
        if isinstance(field, QLineEdit):
            field.setPlaceholderText(hint)
            field.textEdited.connect(self.changed)
        elif isinstance(field, QComboBox):
            field.currentIndexChanged.connect(self.changed)
        else:
            field.toggled.connect(self.changed)
        self.fields[name] = field
        self._layout.addRow(label, field)

    def _toggled(self, on: bool) -> None:
        self.body.setVisible(on)
        self.setFlat(not on)
        self.changed.emit()

    def values(self) -> dict[str, str]:
        if not self.isChecked():
            return {}
        found: dict[str, str] = {}
        for name, field in self.fields.items():
            if isinstance(field, QLineEdit):
                found[name] = field.text()
            elif isinstance(field, QComboBox):
                found[name] = str(field.currentData() or "")
            else:
                found[name] = "yes" if field.isChecked() else ""
        return found

    def load(self, values: dict[str, str]) -> None:
        self.setChecked(bool(values))
        for name, value in values.items():
            field = self.fields.get(name)
            if isinstance(field, QLineEdit):
                field.setText(value)
            elif isinstance(field, QComboBox):
                index = field.findData(value)
                field.setCurrentIndex(max(index, 0))
            elif isinstance(field, QCheckBox):
                field.setChecked(value.strip().lower() in ("1", "true", "yes", "on", "new"))

    def clear(self, defaults: dict[str, str] | None = None) -> None:
        self.clear_errors()
        for field in self.fields.values():
            if isinstance(field, QLineEdit):
                field.clear()
            elif isinstance(field, QComboBox):
                field.setCurrentIndex(0)
            else:
                field.setChecked(False)
        for name, value in (defaults or {}).items():
            box = self.fields.get(name)
            if isinstance(box, QLineEdit):
                box.setText(value)
        self.setChecked(False)

    def mark_error(self, name: str, message: str) -> QWidget:
        """Outline the named field (or the whole form when the name is the kind) and return what to focus."""
        self.setChecked(True)
        field = self.fields.get(name)
        target: QWidget = field if field is not None else self
        target.setStyleSheet(ERROR_STYLE if field is not None else f"QGroupBox {{ {ERROR_STYLE} }}")
        target.setToolTip(message)
        if field is None and self.fields:
            return next(iter(self.fields.values()))
        return target

    def clear_errors(self) -> None:
        for widget in (self, *self.fields.values()):
            widget.setStyleSheet("")
            widget.setToolTip("")


def _choices(values: tuple[str, ...]) -> QComboBox:
    box = QComboBox()
    for value in values:
        box.addItem(value.replace("_", " ").capitalize(), value)
    return box


def booking_form() -> DetailForm:
    form = DetailForm("booking", "&Booking")
    form.add("provider", "Provider", QLineEdit(), "e.g. Dr. Ada Quill")
    form.add("location", "Location", QLineEdit(), "clinic or site")
    form.add("visit_type", "Visit type", QLineEdit(), "e.g. New patient consult")
    form.add("start", "Starts", QLineEdit(), TIME_HINT)
    form.add("new_patient", "New patient", QCheckBox("New to this provider"))
    return form


def referral_form() -> DetailForm:
    form = DetailForm("referral", "&Referral")
    form.add("target_kind", "Refer to", _choices(REFERRAL_TARGETS))
    form.add("target", "Name", QLineEdit(), "e.g. Cardiology")
    form.add("external", "External", QCheckBox("Outside our organisation"))
    form.add("reason", "Reason", QLineEdit(), "why the caller is referred")
    form.add("urgency", "Urgency", _choices(URGENCIES))
    form.add("source_kind", "Referred by", _choices(REFERRAL_SOURCES))
    form.add("source", "Source", QLineEdit(), "campaign or physician name")
    return form


def callback_form() -> DetailForm:
    form = DetailForm("callback", "Callbac&k")
    form.add("when", "When", QLineEdit(), f"{TIME_HINT} in the caller's zone")
    form.add("time_zone", "Caller's zone", QLineEdit(), "e.g. America/Chicago")
    form.add("number", "Number", QLineEdit(), "number to call")
    form.add("reason", "Why", QLineEdit(), "what the callback is about")
    assigned = QComboBox()
    assigned.addItem("Me", "me")
    assigned.addItem("The queue", "queue")
    form.add("assigned_to", "Assigned to", assigned)
    return form
