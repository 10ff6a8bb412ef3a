"""The demo in a real X window under Xvfb (not offscreen): it starts, fills the profile after a simulated call,
and a screenshot of the screen shows it. This is how the README screenshot is made."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests.support import require_program

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_demo_under_xvfb_shows_a_filled_profile(tmp_path: Path) -> None:
    require_program("Xvfb", "xvfb")
    require_program("xauth", "xauth")
    require_program("import", "imagemagick")
    shot = tmp_path / "shot.png"
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env["AGENTDESK_READY_FILE"] = str(tmp_path / "ready")
    result = subprocess.run(
        [
            "bash",
            str(ROOT / "scripts" / "xvfb-run-screenshot.sh"),
            str(shot),
            "--",
            sys.executable,
            str(ROOT / "scripts" / "demo_screenshot.py"),
            "--hold",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1600, 1000)
    # The window fills the screen: the profile area is light (a painted window), not the black X root.
    dark = sum(1 for x in range(0, 1600, 40) for y in range(0, 1000, 40) if image.pixelColor(x, y).lightness() < 30)
    assert dark < 0.05 * (40 * 25)
