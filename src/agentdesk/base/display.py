"""Can the window open here? Asked before Qt starts: without a display Qt aborts the process (exit 134) with
nothing on the terminal but a misleading hint, so the desk says what is missing, in one line, and exits 1.

Linux and the BSDs only: Windows and macOS always have their own display when a user is logged in."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ctypes

HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay")
HEADLESS_HINT = "the headless commands (lookup, link, check-config, export, metrics, audit) need no display"


def display_problem(environ: dict[str, str] | None = None) -> str | None:
    """Why the window cannot open on this machine as it is set up, naming the fix; None when it can (or when
    only Qt can tell)."""
    env = os.environ if environ is None else environ
    if sys.platform in ("win32", "darwin"):
        return None
    platform = env.get("QT_QPA_PLATFORM", "").split(":", 1)[0].strip()
    if platform in HEADLESS_PLATFORMS:
        return None
    x11, wayland = env.get("DISPLAY", ""), env.get("WAYLAND_DISPLAY", "")
    if platform.startswith("wayland"):
        if not wayland:
            return f"QT_QPA_PLATFORM={platform} but WAYLAND_DISPLAY is not set: start it from your desktop session"
        return None
    if not x11 and not wayland:
        return (
            "no display to open the window on (DISPLAY is not set): start AgentDesk from a desktop session, over "
            f"SSH with -X, or under xvfb-run; {HEADLESS_HINT}"
        )
    if wayland and platform != "xcb":
        return None  # Qt uses Wayland here
    return _x11_problem(x11)


def _x11_problem(display: str) -> str | None:
    import ctypes  # here: offscreen, Wayland and Windows starts need none of it

    xcb = _library("libxcb.so.1")
    if xcb is None:
        return None  # Qt would say more than we can
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        if xcb.xcb_connection_has_error(connection):
            return (
                f"cannot connect to the X display {display!r} (DISPLAY): check that it is running and that you may "
                f"use it (xhost, XAUTHORITY); {HEADLESS_HINT}"
            )
    finally:
        xcb.xcb_disconnect(connection)
    if _library("libxcb-cursor.so.0") is None:
        return "Qt needs the library libxcb-cursor0 on X11: install it (e.g. apt install libxcb-cursor0)"
    return None


def _library(soname: str) -> ctypes.CDLL | None:
    try:
        import ctypes

        return ctypes.CDLL(soname)  # by its soname: no ldconfig run at every start
    except OSError:
        return None
