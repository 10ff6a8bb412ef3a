"""Exports of the team monitor: any table to CSV, any chart to PNG. What is shown is copied on the GUI thread (the
cells' text; the chart rendered into a QImage, which unlike a QPixmap may be used on another thread); the file is
written on a worker thread, so a slow or network drive never freezes the monitor. The result comes back to the
GUI thread as a message through a queued signal."""

from __future__ import annotations

import csv
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QAbstractItemModel, QObject, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

log = logging.getLogger("agentdesk.ui")


def table_rows(model: QAbstractItemModel) -> list[list[str]]:
    """The header and every row as displayed."""
    columns = range(model.columnCount())
    header = [str(model.headerData(c, Qt.Orientation.Horizontal) or "") for c in columns]
    rows = [[str(model.index(r, c).data() or "") for c in columns] for r in range(model.rowCount())]
    return [header, *rows]


def write_csv(rows: list[list[str]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def write_png(image: QImage, path: Path) -> None:
    # The stubs say bytes for the format; PySide6 takes only str.
    if not image.save(str(path), "PNG"):  # type: ignore[call-overload]
        raise OSError(f"could not write {path.name}")


class Exporter(QObject):
    """Runs one write at a time per call on a thread of its own; `finished` carries the message to show."""

    finished = Signal(bool, str)

    def __init__(self) -> None:
        super().__init__()
        self._threads: list[threading.Thread] = []
        self.writer_threads: list[str] = []  # which thread wrote each file (the tests check it was not the GUI's)

    def export_table(self, model: QAbstractItemModel, path: Path) -> threading.Thread:
        rows = table_rows(model)
        return self._start(lambda: write_csv(rows, path), path)

    def export_chart(self, view: QWidget, path: Path) -> threading.Thread:
        image = view.grab().toImage()
        return self._start(lambda: write_png(image, path), path)

    def _start(self, write: Callable[[], None], path: Path) -> threading.Thread:
        def run() -> None:
            self.writer_threads.append(threading.current_thread().name)
            try:
                write()
            except OSError as exc:  # a full disk, a folder that went away, no permission: say so, keep running
                self.finished.emit(False, f"Export failed: {path.name} ({exc.strerror or exc})")
                return
            except Exception as exc:  # never a silent dead thread: the supervisor is told, the log has the kind
                log.exception("monitor export failed")
                self.finished.emit(False, f"Export failed: {path.name} ({type(exc).__name__})")
                return
            self.finished.emit(True, f"Exported {path.name}")

        thread = threading.Thread(target=run, name="monitor-export", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return thread

    def wait(self, timeout: float = 10.0) -> None:
        """Let running writes finish (closing the window)."""
        for thread in self._threads:
            thread.join(timeout)
