"""The real Windows logoff (issue 8), run by the Windows workflow (.github/workflows/windows.yml): the desktop is
started as its own process on the `windows` platform, takes two call events, and gets the two messages Windows
sends at logoff: WM_QUERYENDSESSION, then WM_ENDSESSION, after which the test kills it at once, as Windows may.
The events must be on disk and the instance note gone. (The same path without the messages: test_session_end.)"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.support import DeskProcess

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform != "win32", reason="Windows session messages")]

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
    with DeskProcess(tmp_path, qt_platform="windows") as desk:
        desk.wait_running()
        deadline = time.monotonic() + 60
        while not windows_of(desk.process.pid):
            assert time.monotonic() < deadline, "the desk shows no window"
            time.sleep(0.2)
        desk.post_call_events("logoff-1")
        hwnd = windows_of(desk.process.pid)[0]
        assert send(hwnd, WM_QUERYENDSESSION, 0, ENDSESSION_LOGOFF) == 1  # the desk agrees to end the session
        send(hwnd, WM_ENDSESSION, 1, ENDSESSION_LOGOFF)
        desk.process.kill()  # what Windows may do as soon as WM_ENDSESSION is answered
        desk.process.wait(30)
        assert not desk.note.exists(), desk.output_text()[-2000:]
    assert desk.stored_kinds("logoff-1") == ["offered", "answered"]
    assert "the session is ending: stopping cleanly" in desk.app_log()
