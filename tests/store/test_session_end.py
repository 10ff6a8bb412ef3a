"""Windows logoff and shutdown (issue 8): after WM_ENDSESSION the process may be killed as soon as the app returns
from the message, so the rows still queued for the group commit are written on the calling thread, and the write
already in flight is waited for, before `write_now()` returns: no loop turn happens in between."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from agentdesk.store.local import LocalStore


def stored_calls(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:  # another connection, as the next start would open it
        return [row[0] for row in db.execute("SELECT call_id FROM call_events ORDER BY id")]


def log(store: LocalStore, call_id: str) -> asyncio.Future[None]:
    return store.log_call_event(call_id, "offered", "ringing", "webhook", datetime.now(UTC))


def test_rows_queued_in_this_very_turn_are_on_disk_when_write_now_returns(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"

    async def scenario() -> None:
        store = LocalStore(path)
        await store.open()
        futures = [log(store, f"end-{n}") for n in range(5)]
        assert store.write_now() is True  # no await since the rows were queued: only this call can write them
        assert stored_calls(path) == [f"end-{n}" for n in range(5)]
        assert all(f.done() and f.exception() is None for f in futures)
        await store.close()

    asyncio.run(scenario())


def test_write_now_waits_for_the_batch_already_being_written(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"

    async def scenario() -> None:
        store = LocalStore(path)
        await store.open()
        release = threading.Event()
        store._writer.submit(release.wait)  # the writer is busy: the next batch waits behind this job
        first = log(store, "in-flight")
        await asyncio.sleep(0.05)  # the group commit hands the first row to the (busy) writer
        log(store, "queued")
        threading.Timer(0.3, release.set).start()
        assert store.write_now(timeout=10) is True
        assert stored_calls(path) == ["in-flight", "queued"]
        await first
        await store.close()

    asyncio.run(scenario())


def test_after_close_there_is_nothing_left_to_write(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"

    async def scenario() -> None:
        store = LocalStore(path)
        await store.open()
        log(store, "closed")
        await store.close()
        assert store.write_now() is True
        assert stored_calls(path) == ["closed"]

    asyncio.run(scenario())
