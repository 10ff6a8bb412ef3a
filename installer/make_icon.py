"""Render src/agentdesk/resources/agentdesk.svg into installer/agentdesk.ico (16..256 px, PNG-compressed entries).

    QT_QPA_PLATFORM=offscreen python installer/make_icon.py

The .ico is committed (Windows needs it for the executables, the shortcut and Add/Remove Programs); run this
again when the SVG changes.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parents[1]
SIZES = (16, 24, 32, 48, 64, 128, 256)


def png_of(renderer: QSvgRenderer, size: int) -> bytes:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def main() -> int:
    _app = QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(ROOT / "src" / "agentdesk" / "resources" / "agentdesk.svg"))
    images = [png_of(renderer, size) for size in SIZES]
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries, blobs = b"", b""
    for size, png in zip(SIZES, images, strict=True):
        # width/height 0 mean 256; planes 1, 32 bits per pixel; PNG data is allowed since Windows Vista
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(png), offset + len(blobs))
        blobs += png
    (ROOT / "installer" / "agentdesk.ico").write_bytes(header + entries + blobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
