"""Garbage collection on the GUI thread only.

Python's collector runs in whichever thread happens to allocate when a threshold is crossed. If that is a worker
thread (a database writer, an HTTP or SQL backend thread) and the garbage holds Qt objects in a reference cycle,
Qt destroys them off the GUI thread ("Timers cannot be stopped from another thread", then crashes). So automatic
collection is turned off and this timer runs it on the GUI thread, as qutebrowser does.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = 500) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect_if_due)
        self._timer.start()

    def collect_if_due(self) -> None:
        """Collect the generations whose allocation counts crossed their thresholds (what gc itself would do)."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self._thresholds[generation]:
                gc.collect(generation)
                return

    @staticmethod
    def freeze_startup() -> None:
        """Once started: move everything alive now out of the collector's scans. Without it, a full collection
        walks every startup object and stalls the GUI thread for tens of milliseconds (seen in the call-event
        benchmark)."""
        gc.collect()
        gc.freeze()

    def stop(self) -> None:
        self._timer.stop()
        gc.unfreeze()
        gc.collect()
        if self._was_enabled:
            gc.enable()
