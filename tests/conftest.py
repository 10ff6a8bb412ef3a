"""Test setup: offscreen Qt (set before Qt is imported), an in-memory keychain, the qasync loop, and the rule
that a test needing a missing server skips locally but fails in CI (AGENTDESK_REQUIRE_SERVERS=1)."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import keyring
import pytest
from keyring.backend import KeyringBackend

from tests.support import OPEN_APPS, captured, require_program, wait_until

__all__ = ["OPEN_APPS", "captured", "require_program", "wait_until"]  # older imports from conftest still work

T = TypeVar("T")


class MemoryKeyring(KeyringBackend):
    """A real keyring backend that keeps secrets in memory (no OS keychain runs headless here)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if self.secrets.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


# Python's collector must never run on a worker thread while Qt objects from an earlier test await collection
# (Qt destroys them off the GUI thread: "Timers cannot be stopped from another thread"). As in the app, automatic
# collection is off; each test's garbage is collected here, on the main thread, after its fixtures are gone.
gc.disable()


@pytest.fixture(scope="session", autouse=True)
def freeze_imports() -> None:
    gc.collect()
    gc.freeze()  # modules and other long-lived objects: never scanned again, so each collection below is cheap


@pytest.fixture(autouse=True)
def collect_on_the_main_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if {"qtbot", "qapp", "run_async"} & set(request.fixturenames):
        gc.collect()
        gc.freeze()  # what survived is long-lived (the QApplication, modules): keep later collections cheap


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def run_async(qapp: Any) -> Iterator[Callable[[Coroutine[Any, Any, T]], T]]:
    """Run a coroutine on a qasync loop over the test's QApplication, as the app does."""
    import qasync

    from agentdesk.ui.garbage import GuiThreadCollector

    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    collector = GuiThreadCollector()  # as the app does: Qt objects must never be collected on worker threads

    def run(coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return loop.run_until_complete(asyncio.wait_for(coro, timeout))

    yield run
    while OPEN_APPS:
        app = OPEN_APPS.pop()
        if not app.stopped:
            loop.run_until_complete(asyncio.wait_for(app.stop(), 30))
    # A test that failed midway leaves tasks behind: cancel them on the loop, not in Qt's teardown.
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()
    asyncio.set_event_loop(None)
    collector.stop()  # a full collection here, on the GUI thread


@pytest.fixture(scope="module")
def central_url() -> Iterator[str]:
    """A real PostgreSQL with the central schema applied (what IT runs: agentdesk db upgrade), one per module."""
    from agentdesk.store.central import CentralStore
    from tests.postgres import run_postgres

    with run_postgres() as url:
        central = CentralStore(url)
        central.upgrade()
        central.dispose()
        yield url
