"""Automatic lock after inactivity (HIPAA 164.312(a)(2)(iii)): patient data is hidden until the agent returns.

Any key press or mouse click anywhere in the app counts as activity. Unlocking needs only a click or a key: the
workstation's own login protects the session; the lock keeps a passer-by from reading a profile left open.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

ACTIVITY = {
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
}


class InactivityLock(QObject):
    locked = Signal()

    def __init__(self, minutes: float, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.locked.emit)
        self.set_timeout_ms(int(minutes * 60_000))
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def set_timeout_ms(self, milliseconds: int) -> None:
        """0 turns the lock off."""
        self._timer.stop()
        self._timeout = milliseconds
        if milliseconds > 0:
            self._timer.start(milliseconds)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in ACTIVITY and self._timeout > 0:
            self._timer.start(self._timeout)
        return False

    def stop(self) -> None:
        app = QApplication.instance()
        try:
            self._timer.stop()
            if app is not None:
                app.removeEventFilter(self)
        except RuntimeError:
            pass  # the window (our parent) is already gone, and with it the timer and the filter
