"""The real Windows logoff (issue 8), run by the Windows workflow (.github/workflows/windows.yml): the desktop is
started as its own process on the `windows` platform, takes two call events, and gets the two messages Windows
sends at logoff: WM_QUERYENDSESSION, then WM_ENDSESSION, after which the test kills it at once, as Windows may.
The events must be on disk and the instance note gone. (The same path without the messages: test_session_end.)"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agentdesk.instance import instance_file
from agentdesk.paths import AppPaths

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform != "win32", reason="Windows session messages")]

REPO_ROOT = Path(__file__).resolve().parents[2]
WM_QUERYENDSESSION, WM_ENDSESSION, ENDSESSION_LOGOFF, SMTO_ABORTIFHUNG = 0x0011, 0x0016, 0x80000000, 0x0002


def windows_of(pid: int) -> list[int]:
    """The visible top-level windows of process `pid`."""
    import ctypes
    from ctypes import wintypes

    user32 = ctypes.windll.user32  # type: ignore[attr-defined]
    found: list[int] = []

    @ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.HWND, wintypes.LPARAM)  # type: ignore[attr-defined]
    def each(hwnd: int, _: int) -> bool:
        owner = wintypes.DWORD()
        user32.GetWindowThreadProcessId(hwnd, ctypes.byref(owner))
        if owner.value == pid and user32.IsWindowVisible(hwnd):
            found.append(hwnd)
        return True

    user32.EnumWindows(each, 0)
    return found


def send(hwnd: int, message: int, wparam: int, lparam: int) -> int:
    import ctypes
    from ctypes import wintypes

    result = ctypes.c_size_t()
    ok = ctypes.windll.user32.SendMessageTimeoutW(  # type: ignore[attr-defined]
        wintypes.HWND(hwnd), message, wparam, lparam, SMTO_ABORTIFHUNG, 20_000, ctypes.byref(result)
    )
    assert ok, f"message {message:#x} was not answered"
    return result.value


def test_logoff_writes_the_accepted_events_and_removes_the_note(tmp_path: Path) -> None:
    keyring_file = tmp_path / "keyring.json"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "windows",
        "PYTHON_KEYRING_BACKEND": "tests.file_keyring.FileKeyring",
        "AGENTDESK_TEST_KEYRING": str(keyring_file),
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    note = instance_file(AppPaths.for_basedir(tmp_path).data_dir)
    output = (tmp_path / "out.txt").open("wb")
    desk = subprocess.Popen(
        [sys.executable, "-m", "agentdesk", "--demo", "--basedir", str(tmp_path)],
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        cwd=REPO_ROOT,
    )
    try:
        deadline = time.monotonic() + 120
        while not (note.exists() and windows_of(desk.pid)):
            assert time.monotonic() < deadline, "the desk did not start"
            time.sleep(0.2)
        port = json.loads(note.read_text(encoding="utf-8"))["port"]
        token = json.loads(keyring_file.read_text(encoding="utf-8"))["AgentDesk/webhook-token"]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}) as web:
            for kind in ("offered", "answered"):
                response = web.post("/v1/call-events", json={"event": kind, "call_id": "logoff-1", "ani": "6175550123"})
                assert response.status_code == 202
        hwnd = windows_of(desk.pid)[0]
        assert send(hwnd, WM_QUERYENDSESSION, 0, ENDSESSION_LOGOFF) == 1  # the desk agrees to end the session
        send(hwnd, WM_ENDSESSION, 1, ENDSESSION_LOGOFF)
        desk.kill()  # what Windows may do as soon as WM_ENDSESSION is answered
        desk.wait(30)
    finally:
        if desk.poll() is None:
            desk.kill()
            desk.wait()
        output.close()
    log = (tmp_path / "out.txt").read_text(encoding="utf-8", errors="replace")
    assert not note.exists(), log[-2000:]
    with sqlite3.connect(AppPaths.for_basedir(tmp_path).local_store) as db:
        kinds = [row[0] for row in db.execute("SELECT kind FROM call_events WHERE call_id = 'logoff-1' ORDER BY id")]
    assert kinds == ["offered", "answered"]
    app_log = (tmp_path / "logs" / "agentdesk.log").read_text(encoding="utf-8")
    assert "the session is ending: stopping cleanly" in app_log
