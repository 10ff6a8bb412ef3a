"""What a locked window shows instead of patient data: why it is locked and, when the deployment uses PINs, the
field to unlock with (or to choose a PIN the first time)."""

from __future__ import annotations

from enum import Enum

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget


class UnlockMode(Enum):
    CLICK = "click"  # no PIN: the OS login protects the session, the lock keeps passers-by out
    PIN = "pin"  # enter this user's PIN
    CHOOSE = "choose"  # the deployment requires a PIN and this user has none yet


class LockPage(QWidget):
    unlock_requested = Signal(str, str)  # PIN, repeated PIN (CHOOSE only)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LockPage")
        self.message = QLabel("AgentDesk is locked: patient data is hidden.")
        self.message.setObjectName("LockMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pin = QLineEdit()
        self.pin.setObjectName("UnlockPin")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setAccessibleName("PIN")
        self.repeat = QLineEdit()
        self.repeat.setObjectName("UnlockPinRepeat")
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat.setAccessibleName("PIN again")
        self.error = QLabel("")
        self.error.setObjectName("UnlockError")
        self.error.setStyleSheet("color:#b91c1c;")
        self.button = QPushButton("&Unlock")
        self.button.setObjectName("Unlock")
        self.button.clicked.connect(self._requested)
        self.pin.returnPressed.connect(self._requested)
        self.repeat.returnPressed.connect(self._requested)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for widget in (self.message, self.pin, self.repeat, self.error, self.button):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(1)
        self.mode = UnlockMode.CLICK
        self.set_mode(UnlockMode.CLICK)

    def set_mode(self, mode: UnlockMode, min_length: int = 6) -> None:
        self.mode = mode
        self.pin.setVisible(mode is not UnlockMode.CLICK)
        self.repeat.setVisible(mode is UnlockMode.CHOOSE)
        self.pin.setPlaceholderText("Your AgentDesk PIN" if mode is UnlockMode.PIN else f"New PIN ({min_length}+)")
        self.repeat.setPlaceholderText("The new PIN again")
        if mode is UnlockMode.CHOOSE:
            self.message.setText("This workstation needs an AgentDesk PIN. Choose yours to continue.")
            self.button.setText("&Set PIN and unlock")
        else:
            self.message.setText("AgentDesk is locked: patient data is hidden.")
            self.button.setText("&Unlock")
        self.reset()

    def reset(self) -> None:
        self.pin.clear()
        self.repeat.clear()
        self.error.clear()
        self.button.setEnabled(True)

    def focus(self) -> None:
        (self.pin if self.pin.isVisible() else self.button).setFocus()

    def show_error(self, message: str) -> None:
        self.pin.clear()
        self.repeat.clear()
        self.error.setText(message)
        self.button.setEnabled(True)
        self.focus()

    def _requested(self) -> None:
        self.error.clear()
        if self.mode is not UnlockMode.CLICK:
            self.button.setEnabled(False)  # checking takes a moment (argon2): no double submit
        self.unlock_requested.emit(self.pin.text(), self.repeat.text())
