"""At most one UI refresh per frame, whatever the event rate: a burst of 1,500 call events must cost the GUI
thread a few dozen refreshes, not 1,500 (each re-laying out the call bar and the status bar)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

FRAME_MS = 16


class Coalesced(QObject):
    """Runs `action` at most once per frame: the first request after a quiet frame runs it at once (a single
    event shows without delay), the requests within the next frame are folded into one run at its end."""

    def __init__(self, action: Callable[[], None], parent: QObject | None = None, interval_ms: int = FRAME_MS) -> None:
        super().__init__(parent)
        self._action = action
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._frame_over)
        self._pending = False

    def request(self) -> None:
        if self._timer.isActive():
            self._pending = True
            return
        self._timer.start()
        self._action()

    def flush(self) -> None:
        """Run now if a refresh is pending (e.g. before a screenshot or at shutdown)."""
        if self._pending:
            self._pending = False
            self._action()

    def _frame_over(self) -> None:
        if self._pending:
            self._pending = False
            self._timer.start()
            self._action()
