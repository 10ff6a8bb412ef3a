"""The fast start: a config that validated at the last start gets its window first and is validated right after
the first paint; a new, changed or broken config is still validated before any window, with every problem listed;
the remembered fingerprint only counts when it is this user's alone and untouched."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentdesk.config.fingerprint import (
    FILE_NAME,
    StartValues,
    config_fingerprint,
    read_validated,
    remember_validated,
)
from agentdesk.paths import AppPaths
from tests.support import name_of, require_program, single_callers

GOOD = '[agent]\ndisplay_name = "Dana Agent"\nnot_ready_reasons = ["Break", "Training"]\n'
BROKEN = '[agent]\ndisplay_name = "Dana Agent"\n\n[ui]\nlock_after_minutes = -1\ntray_notifications = "maybe"\n'

# Runs the real `agentdesk` entry point; at the first paint it notes what was imported by then, and once the desk
# is ready it takes a call from the demo's population and waits for the profile to show the caller.
CHILD = """
import json, sys
import agentdesk.app as app

HEAVY = ("pydantic", "asyncio", "qasync", "jinja2", "sqlalchemy", "agentdesk.desk", "agentdesk.config.schema",
         "agentdesk.ui.profile_panel", "agentdesk.ui.script_panel", "agentdesk.campaigns.model")
shown = app._mark_shown
def marked(started):
    print("SHOWN " + json.dumps([m for m in HEAVY if m in sys.modules]), flush=True)
    shown(started)
app._mark_shown = marked

PHONE = sys.argv.pop(1)
original = app.AgentDeskApp.start
async def start(self):
    import asyncio
    await original(self)
    from agentdesk.telephony.events import pop_event
    self.intake.accept(pop_event(PHONE, "", ""))
    for _ in range(600):
        if self.window.profile.name_label.text():
            break
        await asyncio.sleep(0.05)
    print("PROFILE " + self.window.profile.name_label.text(), flush=True)
app.AgentDeskApp.start = start

from agentdesk.cli import main
sys.exit(main(sys.argv[1:]))
"""


def start_desk(basedir: Path, config: Path, phone: str = "+16175550100") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, phone, "--demo", "--smoke", "--basedir", str(basedir), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "AGENTDESK_STARTUP_MARKER": str(basedir / "shown")},
    )


def log_of(basedir: Path) -> str:
    return (basedir / "logs" / "agentdesk.log").read_text(encoding="utf-8")


def remembered(basedir: Path) -> Path:
    return basedir / "data" / FILE_NAME


def test_a_remembered_config_shows_the_window_first_then_the_desk_gets_ready_and_a_call_pops(tmp_path: Path) -> None:
    config = tmp_path / "agentdesk.toml"
    config.write_text(GOOD, encoding="utf-8")
    caller = single_callers(tmp_path)[0]
    first = start_desk(tmp_path, config, caller.phone_e164)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "config validated" in log_of(tmp_path) and remembered(tmp_path).is_file()
    # Validated before its window: the first paint already had pydantic and the schema.
    assert "pydantic" in json.loads(first.stdout.split("SHOWN ")[1].splitlines()[0])

    (tmp_path / "logs" / "agentdesk.log").unlink()
    second = start_desk(tmp_path, config, caller.phone_e164)
    assert second.returncode == 0, second.stderr[-3000:]
    # The first paint needed none of the settings, the desk, the loop or the panels...
    assert json.loads(second.stdout.split("SHOWN ")[1].splitlines()[0]) == []
    # ...and then the settings were built, the desk got ready and a call popped the caller's profile.
    log = log_of(tmp_path)
    assert "config as at the last start" in log
    assert "not created in the main() thread" not in log  # Qt's main thread is this one, not a helper's
    order = [log.index(line) for line in ("main window shown", "settings built", "local store ready", "smoke: ready")]
    assert order == sorted(order)
    assert f"PROFILE {name_of(caller)}" in second.stdout
    assert (tmp_path / "shown").exists()


def test_a_changed_config_that_is_broken_stops_before_any_window_with_every_problem(tmp_path: Path) -> None:
    config = tmp_path / "agentdesk.toml"
    config.write_text(GOOD, encoding="utf-8")
    assert start_desk(tmp_path, config).returncode == 0
    assert remembered(tmp_path).is_file()
    (tmp_path / "shown").unlink()

    config.write_text(BROKEN, encoding="utf-8")
    result = start_desk(tmp_path, config)
    assert result.returncode == 2
    assert "ui.lock_after_minutes" in result.stderr and "ui.tray_notifications" in result.stderr
    assert "agentdesk.toml:5" in result.stderr and "agentdesk.toml:6" in result.stderr
    assert not (tmp_path / "shown").exists() and "SHOWN" not in result.stdout  # no window at all
    assert not remembered(tmp_path).exists()


def test_a_remembered_config_that_no_longer_validates_still_stops_the_app_with_every_problem(tmp_path: Path) -> None:
    """The safety net: even when the fingerprint matches (e.g. the app's own checks changed within one version),
    the settings are validated right after the first paint and the app stops as it would have."""
    config = tmp_path / "agentdesk.toml"
    config.write_text(BROKEN, encoding="utf-8")
    paths = AppPaths.for_basedir(tmp_path)
    paths.create()
    fingerprint = config_fingerprint([config], demo=True, machine=paths.machine_config)
    assert fingerprint is not None
    remember_validated(paths.data_dir, fingerprint, StartValues("Dana Agent", ("Break",), "INFO", False, 5, True, "t"))
    result = start_desk(tmp_path, config)
    assert result.returncode == 2
    assert "ui.lock_after_minutes" in result.stderr and "ui.tray_notifications" in result.stderr
    assert "SHOWN []" in result.stdout  # it did show the frame: the config was remembered as valid
    assert "PROFILE" not in result.stdout  # but no desk started
    assert not remembered(tmp_path).exists()  # and the next start validates before any window


def test_a_start_with_no_desk_running_asks_no_keychain_and_loads_no_http_client_before_its_window(
    tmp_path: Path,
) -> None:
    """The single-instance check runs before the window on every start that is not a smoke test; with no desk
    running (the usual start) it must cost a file lookup, not the keychain and httpx (~250 ms before)."""
    check = f"""
import sys
from pathlib import Path
from agentdesk.app import _handed_to_running_instance
from agentdesk.commands.gui import LaunchOptions
from agentdesk.config.fingerprint import StartValues
from agentdesk.paths import AppPaths
paths = AppPaths.for_basedir(Path({str(tmp_path)!r}))
paths.create()
start = StartValues("Dana", ("Break",), "INFO", False, 5, True, "webhook-token")
handed = _handed_to_running_instance(LaunchOptions(), paths, start)
print(handed, sorted(m for m in ("keyring", "httpx", "asyncio", "h11") if m in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False []", result.stderr[-2000:]


def start_values() -> StartValues:
    return StartValues("Dana Agent", ("Break", "Training"), "INFO", False, 5, True, "webhook-token")


def private_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    return folder


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes; Windows relies on the profile folder's ACLs")
def test_the_remembered_file_is_user_only_and_anything_else_means_full_validation(tmp_path: Path) -> None:
    folder = private_folder(tmp_path)
    remember_validated(folder, "f" * 64, start_values())
    path = folder / FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert read_validated(folder, "f" * 64) == start_values()
    assert read_validated(folder, "e" * 64) is None  # another config

    path.chmod(0o620)  # writable by the group: someone else could have put it there
    assert read_validated(folder, "f" * 64) is None
    path.chmod(0o600)
    folder.chmod(0o770)  # a folder others may write to: the file could have been swapped
    assert read_validated(folder, "f" * 64) is None
    folder.chmod(0o700)

    link = folder / "elsewhere.json"
    path.rename(link)
    path.symlink_to(link)  # a symlink planted in its place
    assert read_validated(folder, "f" * 64) is None


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes; Windows relies on the profile folder's ACLs")
def test_an_edited_or_damaged_remembered_file_means_full_validation(tmp_path: Path) -> None:
    folder = private_folder(tmp_path)
    remember_validated(folder, "f" * 64, start_values())
    path = folder / FILE_NAME
    data = json.loads(path.read_text(encoding="utf-8"))
    data["values"]["log_level"] = "DEBUG"  # edited without the check that binds it to the fingerprint
    path.write_text(json.dumps(data), encoding="utf-8")
    assert read_validated(folder, "f" * 64) is None
    for damaged in ("", "{", "[]", '{"fingerprint": "' + "f" * 64 + '"}', "x" * 100_000):
        path.write_text(damaged, encoding="utf-8")
        assert read_validated(folder, "f" * 64) is None, damaged[:20]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to make a file another's")
def test_a_remembered_file_owned_by_another_user_is_ignored(tmp_path: Path) -> None:
    folder = private_folder(tmp_path)
    remember_validated(folder, "f" * 64, start_values())
    os.chown(folder / FILE_NAME, 65534, 65534)  # nobody's
    assert read_validated(folder, "f" * 64) is None


def test_the_fingerprint_covers_every_layer_and_the_version(tmp_path: Path) -> None:
    machine, user = tmp_path / "machine.toml", tmp_path / "user.toml"
    machine.write_text("[logging]\nlevel = 'INFO'\n", encoding="utf-8")
    user.write_text(GOOD, encoding="utf-8")
    base = config_fingerprint([machine, user], demo=False, machine=machine)
    assert base == config_fingerprint([machine, user], demo=False, machine=machine)
    assert base != config_fingerprint([machine, user], demo=True, machine=machine)
    assert base != config_fingerprint([user], demo=False, machine=machine)
    assert config_fingerprint([tmp_path / "missing.toml"], demo=False, machine=None) is None
    machine.write_text("[logging]\nlevel = 'DEBUG'\n", encoding="utf-8")
    assert base != config_fingerprint([machine, user], demo=False, machine=machine)


# The same desk on a real X server (Xvfb), with keys typed through the X server (XTest) while only the frame is up:
# the settings are held back until the keys are sent, so they arrive before the desk is built.
TYPING_CHILD = """
import os, sys, time
from pathlib import Path
import agentdesk.app as app

sent = Path(os.environ["KEYS_SENT"])
shown = app._mark_shown
def marked(started):
    shown(started)
    print("FRAME", flush=True)
app._mark_shown = marked
load = app.load_app_settings
def slow_load(*args, **kwargs):
    while not sent.exists():  # the agent types while the settings are still being built
        time.sleep(0.02)
    return load(*args, **kwargs)
app.load_app_settings = slow_load
original = app.AgentDeskApp.start
async def start(self):
    await original(self)
    print("SEARCH " + self.window.profile.search.text(), flush=True)
app.AgentDeskApp.start = start

from agentdesk.cli import main
sys.exit(main(sys.argv[1:]))
"""


class XServer:
    """A private Xvfb display and XTest, through libX11/libXtst (no extra Python package)."""

    def __init__(self, log: Path) -> None:
        import ctypes

        self.x11, self.xtest = ctypes.CDLL("libX11.so.6"), ctypes.CDLL("libXtst.so.6")
        self.x11.XOpenDisplay.restype = ctypes.c_void_p
        self.x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self.x11.XStringToKeysym.restype = ctypes.c_ulong
        self.x11.XStringToKeysym.argtypes = [ctypes.c_char_p]
        self.x11.XKeysymToKeycode.restype = ctypes.c_ubyte
        self.x11.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        self.xtest.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
        self.x11.XFlush.argtypes = [ctypes.c_void_p]
        self.x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self.connection = None
        for _attempt in range(3):  # a display number another session's Xvfb grabs at the same moment: take another
            self.process, self.display = self._start(log)
            # The server listens a moment after it starts; on a loaded machine, seconds.
            deadline = time.monotonic() + 20
            while True:
                self.connection = self.x11.XOpenDisplay(self.display.encode())
                if self.connection or time.monotonic() > deadline or self.process.poll() is not None:
                    break
                time.sleep(0.05)
            if self.connection:
                return
            self.process.terminate()  # never leave a server running (a later test would report its Popen)
            self.process.wait(10)
        raise AssertionError(f"no Xvfb display could be opened: {log.read_text(encoding='utf-8')[-2000:]}")

    @staticmethod
    def _start(log: Path) -> tuple[subprocess.Popen[bytes], str]:
        """Xvfb on a display number nobody holds now (chosen here: no -displayfd, whose pipe failed under load)."""
        import random

        number = next(n for n in random.sample(range(100, 1000), 900) if not Path(f"/tmp/.X{n}-lock").exists())
        with log.open("ab") as errors:
            process = subprocess.Popen(
                ["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"], stderr=errors
            )
        return process, f":{number}"

    def type(self, text: str) -> None:
        for char in text:
            code = self.x11.XKeysymToKeycode(self.connection, self.x11.XStringToKeysym(char.encode()))
            self.xtest.XTestFakeKeyEvent(self.connection, code, 1, 0)
            self.xtest.XTestFakeKeyEvent(self.connection, code, 0, 0)
        self.x11.XFlush(self.connection)

    def close(self) -> None:
        self.x11.XCloseDisplay(self.connection)
        self.process.terminate()
        self.process.wait(10)


@pytest.mark.slow
def test_keys_typed_while_the_frame_shows_reach_the_desk(tmp_path: Path) -> None:
    require_program("Xvfb", "xvfb")
    config = tmp_path / "agentdesk.toml"
    config.write_text(GOOD, encoding="utf-8")
    assert start_desk(tmp_path, config).returncode == 0  # remembered: the next start shows its frame first
    server = XServer(tmp_path / "xvfb.log")
    try:
        env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
        env |= {"DISPLAY": server.display, "KEYS_SENT": str(tmp_path / "keys-sent")}
        command = [sys.executable, "-c", TYPING_CHILD, "--demo", "--smoke", "--basedir", str(tmp_path)]
        child = subprocess.Popen(
            [*command, "--config", str(config)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "FRAME"
            server.type("smith")
            (tmp_path / "keys-sent").write_text("", encoding="utf-8")
            out, err = child.communicate(timeout=120)
        finally:  # a failed step must not leave the desk running (nor its pipes open)
            if child.poll() is None:
                child.kill()
                child.communicate()
    finally:
        server.close()
    assert child.returncode == 0, err[-3000:]
    assert "SEARCH smith" in out


def test_closing_the_window_while_the_desk_is_built_stops_the_desk_without_showing_it_again(
    qtbot, run_async, tmp_path: Path
) -> None:
    """The frame shows while the settings and the desk are built; an agent who closes it then has quit: the desk
    must stop cleanly, not pop its window back up once it is ready."""
    from PySide6.QtCore import QEvent, QObject

    from agentdesk.app import AgentDeskApp, load_app_settings
    from agentdesk.commands.gui import LaunchOptions
    from agentdesk.logs import setup_logging
    from agentdesk.ui.main_window import MainWindow
    from tests.support import OPEN_APPS

    class Shows(QObject):
        count = 0

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Show:
                self.count += 1
            return False

    options = LaunchOptions(demo=True, basedir=tmp_path)
    paths = AppPaths.for_basedir(tmp_path)
    paths.create()
    window = MainWindow.starting("AgentDesk", paths.ui_state)
    qtbot.addWidget(window)
    window.show()
    window.close()  # before the desk exists
    shows = Shows()
    window.installEventFilter(shows)
    app = AgentDeskApp(options, paths, load_app_settings(options, paths), setup_logging(paths.log_dir), window)
    OPEN_APPS.append(app)
    assert run_async(app.run(time.perf_counter()), timeout=120) == 0
    assert app.stopped and not window.isVisible()
    assert shows.count == 0
