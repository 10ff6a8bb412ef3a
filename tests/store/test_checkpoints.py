"""WAL checkpoints beside the writer: no save copies the WAL into the database file or waits for the database
file's fsync (SQLite's default did, in the commit that crossed 1,000 WAL pages), yet the WAL is copied back and
does not grow without end, and every acknowledged save survives a kill."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from agentdesk.store.checkpoints import CHECKPOINT_COMMITS
from agentdesk.store.dispositions import Disposition
from agentdesk.store.local import LocalStore


def wrap_up(i: int) -> Disposition:
    return Disposition(f"call-{i}", "dana", "appointment_booked", "booking")


def test_saves_never_checkpoint_and_the_checkpointer_copies_the_wal_back(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite3"

    async def scenario() -> None:
        store = LocalStore(path)
        await store.open()
        # The writer's connection leaves checkpoints to the thread beside it.
        assert await store.read(lambda c: c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()) == 0
        size = path.stat().st_size
        for i in range(CHECKPOINT_COMMITS + 10):
            await store.save_disposition(wrap_up(i))
        deadline = time.monotonic() + 30
        while path.stat().st_size == size and time.monotonic() < deadline:  # what the WAL held reaches the file
            await asyncio.sleep(0.05)
        assert path.stat().st_size > size
        await store.close()

    asyncio.run(scenario())
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM dispositions").fetchone() == (CHECKPOINT_COMMITS + 10,)
    db.close()


CHILD = """
import asyncio, sys
from agentdesk.store.dispositions import Disposition
from agentdesk.store.local import LocalStore

async def main():
    store = LocalStore(__import__("pathlib").Path(sys.argv[1]))
    await store.open()
    i = 0
    while True:
        await store.save_disposition(Disposition(f"call-{i}", "dana", "appointment_booked", "booking"))
        print(i, flush=True)  # acknowledged: on disk
        i += 1

asyncio.run(main())
"""


def test_a_kill_while_the_checkpointer_copies_loses_no_acknowledged_save(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite3"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    acknowledged = -1
    try:
        for line in child.stdout:  # past two rounds of checkpoints, then killed mid-stream
            acknowledged = int(line)
            if acknowledged >= 2 * CHECKPOINT_COMMITS + 37:
                break
    finally:
        child.kill()
        child.wait(10)
        child.stdout.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        saved = {row[0] for row in db.execute("SELECT call_id FROM dispositions")}
    db.close()
    assert {f"call-{i}" for i in range(acknowledged + 1)} <= saved
