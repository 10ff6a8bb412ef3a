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
