"""Helpers the tests share, in one place: waiting on the running loop, routing logs to caplog, requiring a program,
and building the demo desktop (registered in OPEN_APPS so the run_async fixture stops it even after a failure).
Fixtures live in conftest.py; real servers in servers.py (HTTP), postgres.py, fake_ami.py, sip/ and fhir_engine/."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from agentdesk.app import AgentDeskApp
    from agentdesk.demo.people import SyntheticPerson
    from agentdesk.demo.population import DemoData

# Apps built by a test (make_app registers them): stopped at teardown even when the test failed midway, so their
# servers and sockets never leak into the next test.
OPEN_APPS: list[Any] = []


async def wait_until(condition: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll `condition` while the loop (and so Qt) keeps running. The deadline is generous: a passing test
    never waits for it, and a CI machine under load must not turn slowness into a failure."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@contextlib.contextmanager
def captured(caplog: pytest.LogCaptureFixture, names: tuple[str, ...], level: int) -> Iterator[None]:
    """Route these loggers straight to caplog: the app's setup_logging (run by other tests) stops them from
    propagating to the root logger, where caplog listens."""
    loggers = [logging.getLogger(name) for name in names]
    saved = [(logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.addHandler(caplog.handler)
        logger.setLevel(level)
        logger.propagate = False  # once, not twice when nothing had changed it
    try:
        yield
    finally:
        for logger, (old_level, old_propagate) in zip(loggers, saved, strict=True):
            logger.removeHandler(caplog.handler)
            logger.setLevel(old_level)
            logger.propagate = old_propagate


def require_program(program: str, debian_package: str) -> str:
    """The path of `program`; skips (locally) or fails (CI) when it is not installed."""
    path = shutil.which(program)
    if path:
        return path
    message = f"{program} not found: install the Debian package '{debian_package}' (apt-get install {debian_package})"
    if os.environ.get("AGENTDESK_REQUIRE_SERVERS") == "1":
        pytest.fail(f"AGENTDESK_REQUIRE_SERVERS=1 but {message}")
    pytest.skip(message)


def make_app(basedir: Path, config_text: str = "", qtbot: QtBot | None = None) -> AgentDeskApp:
    """The demo desk under `basedir`, with `config_text` as its --config file when given; stopped at teardown.
    With `qtbot`, its window is handed to pytest-qt (closed, and its Qt warnings checked, at teardown)."""
    from agentdesk.app import AgentDeskApp, load_app_settings
    from agentdesk.commands.gui import LaunchOptions
    from agentdesk.logs import setup_logging
    from agentdesk.paths import AppPaths

    config = None
    if config_text:
        config = basedir / "test-config.toml"
        config.write_text(config_text, encoding="utf-8")
    options = LaunchOptions(demo=True, basedir=basedir, config=config)
    paths = AppPaths.for_basedir(basedir)
    paths.create()
    recent = setup_logging(paths.log_dir)
    app = AgentDeskApp(options, paths, load_app_settings(options, paths), recent)
    OPEN_APPS.append(app)
    if qtbot is not None:
        qtbot.addWidget(app.window)
    return app


async def start_shown(app: AgentDeskApp, activate: bool = False) -> None:
    """The desk as the agent opens it: the window shown (and focused, for keyboard tests), then started."""
    app.window.show()
    if activate:
        app.window.activateWindow()
    await app.start()


def demo_people(basedir: Path) -> DemoData:
    """The demo population the desk under `basedir` will use (written now; the desk finds it ready)."""
    from agentdesk.app import load_app_settings
    from agentdesk.commands.gui import LaunchOptions
    from agentdesk.demo.population import write_demo_data
    from agentdesk.paths import AppPaths

    settings = load_app_settings(LaunchOptions(demo=True, basedir=basedir), AppPaths.for_basedir(basedir))
    return write_demo_data(AppPaths.for_basedir(basedir).demo_dir, settings.demo.population, settings.demo.seed)


def single_callers(basedir: Path) -> list[SyntheticPerson]:
    """Demo people the EHR knows who are alone on their phone line (a pop finds exactly them)."""
    people = demo_people(basedir).people
    counts: dict[str, int] = {}
    for person in people:
        counts[person.phone_e164] = counts.get(person.phone_e164, 0) + 1
    return [p for p in people if p.in_ehr and counts[p.phone_e164] == 1]


def name_of(person: SyntheticPerson) -> str:
    return f"{person.given_name} {person.family_name}"


class DeskProcess:
    """The demo desktop as its own process under `basedir` (a file keyring, so its webhook token can be read), for
    tests of how the whole process ends: signals, a Windows logoff. Use as a context manager: the process is
    killed at exit if the test left it running, and its output is in `output_text()`."""

    def __init__(self, basedir: Path, qt_platform: str = "offscreen") -> None:
        import subprocess
        import sys

        from agentdesk.instance import instance_file
        from agentdesk.paths import AppPaths

        repo_root = Path(__file__).resolve().parents[1]
        self.basedir = basedir
        self.paths = AppPaths.for_basedir(basedir)
        self.note = instance_file(self.paths.data_dir)
        self._keyring = basedir / "keyring.json"
        self._output_path = basedir / "out.txt"
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": qt_platform,
            "PYTHON_KEYRING_BACKEND": "tests.file_keyring.FileKeyring",
            "AGENTDESK_TEST_KEYRING": str(self._keyring),
            "PYTHONPATH": os.pathsep.join([str(repo_root), os.environ.get("PYTHONPATH", "")]),
        }
        self._output = self._output_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agentdesk", "--demo", "--basedir", str(basedir)],
            env=env,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            cwd=repo_root,
        )

    def __enter__(self) -> DeskProcess:
        return self

    def __exit__(self, *_: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._output.close()

    def wait_running(self, timeout: float = 120) -> None:
        """Until the desk's instance note is there (its webhook listens); fails when it exits first."""
        import time

        deadline = time.monotonic() + timeout
        while not self.note.exists():
            assert self.process.poll() is None, f"the desk exited: {self.output_text()[-2000:]}"
            assert time.monotonic() < deadline, "timed out waiting for the running desk's instance note"
            time.sleep(0.1)

    def post_call_events(self, call_id: str, kinds: tuple[str, ...] = ("offered", "answered")) -> None:
        """Send call events to its webhook, as a phone system would; each must be accepted (202)."""
        import json

        import httpx

        port = json.loads(self.note.read_text(encoding="utf-8"))["port"]
        token = json.loads(self._keyring.read_text(encoding="utf-8"))["AgentDesk/webhook-token"]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}) as web:
            for kind in kinds:
                response = web.post("/v1/call-events", json={"event": kind, "call_id": call_id, "ani": "6175550123"})
                assert response.status_code == 202, response.text

    def stored_kinds(self, call_id: str) -> list[str]:
        """The call's events in the local store, in order, read as the next start would."""
        import sqlite3

        with sqlite3.connect(self.paths.local_store) as db:
            rows = db.execute("SELECT kind FROM call_events WHERE call_id = ? ORDER BY id", (call_id,))
            return [row[0] for row in rows]

    def output_text(self) -> str:
        self._output.flush()
        return self._output_path.read_text(encoding="utf-8", errors="replace")

    def app_log(self) -> str:
        return (self.paths.log_dir / "agentdesk.log").read_text(encoding="utf-8")
