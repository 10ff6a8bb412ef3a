"""The window's layout (size, docks, splitters) kept between runs in an INI file, read and written on worker
threads: the GUI thread only takes the snapshot and applies it (QSettings is reentrant, one per thread)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

LAYOUT_KEYS = ("geometry", "state", "splitter", "right_splitter")
Layout = dict[str, QByteArray]


def read_layout(path: Path) -> Layout:
    """The saved layout; missing or unreadable keys are left out (the window keeps its defaults)."""
    settings = QSettings(str(path), QSettings.Format.IniFormat)
    values = {key: settings.value(key) for key in LAYOUT_KEYS}
    return {key: value for key, value in values.items() if isinstance(value, QByteArray)}


def write_layout(path: Path, layout: Layout) -> None:
    settings = QSettings(str(path), QSettings.Format.IniFormat)
    for key, value in layout.items():
        settings.setValue(key, value)
    settings.sync()
