"""The baseline: a bare PySide6 main window, started and shown the way AgentDesk is, then quit."""

import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow


def shown() -> None:
    marker = os.environ.get("AGENTDESK_STARTUP_MARKER")
    if marker:
        Path(marker).write_text(f"{time.time():.6f}\n", encoding="utf-8")
    app.quit()


app = QApplication(sys.argv[:1])
window = QMainWindow()
window.resize(1280, 800)
window.show()
QTimer.singleShot(0, shown)  # one turn of the loop after show, as AgentDesk marks it
app.exec()
