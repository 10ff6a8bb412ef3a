"""The command line as IT and CI use it: version, demo smoke start, crash handling."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from agentdesk import __version__


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentdesk", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})},
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"AgentDesk {__version__}"


def test_demo_smoke_starts_shows_the_window_and_exits_zero(tmp_path: Path) -> None:
    marker = tmp_path / "shown"
    result = run("--demo", "--smoke", "--basedir", str(tmp_path), env={"AGENTDESK_STARTUP_MARKER": str(marker)})
    assert result.returncode == 0, result.stderr
    assert marker.exists()  # the main window was shown
    log = (tmp_path / "logs" / "agentdesk.log").read_text(encoding="utf-8")
    assert "local store ready" in log and "smoke: ready" in log
    assert (tmp_path / "data" / "agentdesk.sqlite3").exists()
    assert (tmp_path / "data" / "demo" / "crm.sqlite3").exists()


def test_smoke_crash_prints_and_exits_nonzero(tmp_path: Path) -> None:
    # A bug during startup (here: an unreadable demo population) must not hang or exit 0.
    demo = tmp_path / "data" / "demo"
    demo.mkdir(parents=True)
    (demo / "ehr-patients.json").mkdir()  # a folder where a file belongs: writing it fails
    result = run("--demo", "--smoke", "--basedir", str(tmp_path))
    assert result.returncode != 0
    assert "startup failed" in (tmp_path / "logs" / "agentdesk.log").read_text(encoding="utf-8")
