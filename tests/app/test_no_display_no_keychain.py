"""Where a desktop is missing pieces: no display says so in one line on the terminal (exit 1, not Qt's abort 134);
no OS keychain still lets `agentdesk pop` and a second start reach the running desk (a run-only token in the
user-only instance file), while the status bar says the phone system cannot."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import keyring
import pytest
from keyring.backends.fail import Keyring as NoKeyring

from agentdesk.instance import instance_file
from tests.support import make_app, wait_until


def start(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return subprocess.run(
        [sys.executable, "-m", "agentdesk", *args], capture_output=True, text=True, timeout=60, env={**clean, **env}
    )


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="a display is always there on Windows and macOS")
@pytest.mark.parametrize(
    ("display", "said"),
    [({}, "DISPLAY is not set"), ({"DISPLAY": ":93"}, "cannot connect to the X display ':93'")],
)
def test_without_a_display_one_line_names_the_fix_and_the_exit_is_1(
    tmp_path: Path, display: dict[str, str], said: str
) -> None:
    result = start("--demo", "--basedir", str(tmp_path), env=display)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("AgentDesk cannot open its window:") and said in lines[0]
    assert "xvfb-run" in lines[0] or "xhost" in lines[0]


def test_without_a_keychain_pop_still_reaches_the_running_desk(qtbot, run_async, tmp_path: Path) -> None:
    keyring.set_keyring(NoKeyring())  # the autouse memory keyring is put back after the test
    app = make_app(tmp_path)
    qtbot.addWidget(app.window)

    async def scenario() -> None:
        app.window.show()
        await app.start()
        link = app.window.links["webhook"]
        assert link.text() == "webhook: local only" and "keychain" in link.toolTip()
        note = json.loads(instance_file(app.paths.data_dir).read_text(encoding="utf-8"))
        assert len(note["token"]) >= 32
        handed = await asyncio.to_thread(
            start,
            "pop",
            "--ani",
            "6175550123",
            "--basedir",
            str(tmp_path),
            env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
        )
        assert handed.returncode == 0 and "handed over" in handed.stdout, handed.stderr
        await wait_until(lambda: any(c.call.ani == "+16175550123" for c in app.desk.contexts.values()), what="pop")
        await app.stop()
        assert not instance_file(app.paths.data_dir).exists()  # the run's token leaves with the run

    run_async(scenario(), timeout=90)
