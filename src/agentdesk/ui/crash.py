"""Bugs, as opposed to environment errors: a crash dialog with the recent (redacted) log. (Qt's own messages go to
the log through ui/qt_messages.py.)"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from types import TracebackType

from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from agentdesk.logs import ShownValues, redact

log = logging.getLogger("agentdesk.app")


class CrashDialog(QDialog):
    def __init__(self, summary: str, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("AgentDesk hit a problem")
        text = QLabel(
            "AgentDesk hit an unexpected problem. Saved dispositions are safe.\n"
            "Copy the details below for IT, then continue or quit."
        )
        self.details = QPlainTextEdit(f"{summary}\n\n{details}")
        self.details.setReadOnly(True)
        buttons = QDialogButtonBox()
        buttons.addButton("Continue", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton("Quit AgentDesk", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)
        self.resize(760, 480)


def make_excepthook(
    recent_log: Callable[[], str],
    headless: bool,
    exit_app: Callable[[int], None],
    shown: ShownValues | None = None,
) -> Callable[[type[BaseException], BaseException, TracebackType | None], None]:
    """The global hook: headless runs print and exit non-zero; the GUI shows the crash dialog. Both are redacted
    by shape and by the values the desk showed (`shown`)."""

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        trace = redact("".join(traceback.format_exception(kind, error, tb)), shown)
        log.critical("unhandled %s\n%s", kind.__name__, trace)
        if headless or QApplication.instance() is None:
            print(f"AgentDesk crashed: {kind.__name__}\n{trace}", flush=True)
            exit_app(70)
            return
        dialog = CrashDialog(
            f"{kind.__name__}: {redact(str(error), shown)}", f"{trace}\n--- recent log ---\n{recent_log()}"
        )
        if dialog.exec() != QDialog.DialogCode.Accepted:
            exit_app(70)

    return hook
