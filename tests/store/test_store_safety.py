"""The local store at rest and at first start: user-only files, optional SQLCipher encryption, migrations that a
kill cannot leave half done, and an unreadable store moved aside (never deleted) for a fresh one."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentdesk.base.time import utc_now
from agentdesk.store.dispositions import Disposition
from agentdesk.store.local import LocalStore

NOTE = "Zebediah Quarrington asked about the cardiology referral"


def disposition(call_id: str = "c-1") -> Disposition:
    now = utc_now()
    return Disposition(
        call_id=call_id,
        agent_id="agent",
        disposition_code="information_provided",
        outcome="info",
        campaign_code="",
        notes=NOTE,
        patient_key="ehr:p1",
        offered_at=now,
        answered_at=now,
        ended_at=now,
    )


async def save_one(store: LocalStore) -> None:
    await store.open()
    try:
        await store.save_disposition(disposition())
    finally:
        await store.close()


def test_a_plain_store_is_user_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "agentdesk.sqlite3"
    os.umask(0o022)  # a usual desktop umask: files would be 0644 without the store's own care
    asyncio.run(save_one(LocalStore(path)))
    if os.name == "posix":
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        for file in path.parent.iterdir():
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes; Windows profiles carry user-only ACLs")
def test_everything_a_demo_start_writes_is_user_only(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir(mode=0o755)  # made wider by an older version: narrowed on start
    result = subprocess.run(
        [sys.executable, "-m", "agentdesk", "--demo", "--smoke", "--basedir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        preexec_fn=lambda: os.umask(0o022),
    )
    assert result.returncode == 0, result.stderr
    written = list(tmp_path.rglob("*"))
    assert any(p.name == "agentdesk.sqlite3" for p in written) and any(p.name == "agentdesk.log" for p in written)
    wide = [
        f"{p.relative_to(tmp_path)} {stat.S_IMODE(p.stat().st_mode):o}"
        for p in written
        if stat.S_IMODE(p.stat().st_mode) & 0o077
    ]
    assert wide == []
    assert stat.S_IMODE(tmp_path.joinpath("data").stat().st_mode) == 0o700


def test_an_encrypted_store_keeps_notes_unreadable_without_the_key(tmp_path: Path, memory_keyring) -> None:
    pytest.importorskip("sqlcipher3", reason="pip install sqlcipher3-binary (in the test extras on Linux)")
    path = tmp_path / "agentdesk.sqlite3"
    asyncio.run(save_one(LocalStore(path, "store-key")))
    assert ("AgentDesk", "store-key") in memory_keyring.secrets  # the key was made and kept in the keychain
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"Zebediah" not in raw and b"cardiology" not in raw
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(path).execute("SELECT notes FROM dispositions").fetchall()

    async def read_back() -> list[str]:
        store = LocalStore(path, "store-key")
        await store.open()
        try:
            return [row["notes"] for row in await store.dispositions()]
        finally:
            await store.close()

    assert asyncio.run(read_back()) == [NOTE]


def test_turning_encryption_on_encrypts_the_existing_store_without_losing_rows(tmp_path: Path) -> None:
    pytest.importorskip("sqlcipher3", reason="pip install sqlcipher3-binary (in the test extras on Linux)")
    path = tmp_path / "agentdesk.sqlite3"
    asyncio.run(save_one(LocalStore(path)))
    assert NOTE.encode() in b"".join(p.read_bytes() for p in tmp_path.iterdir())

    async def reopen() -> list[str]:
        store = LocalStore(path, "store-key")
        await store.open()
        try:
            assert store.moved_aside is None
            return [row["notes"] for row in await store.dispositions()]
        finally:
            await store.close()

    assert asyncio.run(reopen()) == [NOTE]
    assert NOTE.encode() not in b"".join(p.read_bytes() for p in tmp_path.iterdir())


def test_an_unreadable_store_is_moved_aside_and_a_fresh_one_made(tmp_path: Path) -> None:
    path = tmp_path / "agentdesk.sqlite3"
    garbage = b"this is not a database, but someone's data might be in it\n" * 100
    path.write_bytes(garbage)

    async def scenario() -> Path | None:
        store = LocalStore(path)
        await store.open()
        try:
            await store.save_disposition(disposition())
            assert len(await store.dispositions()) == 1
            return store.moved_aside
        finally:
            await store.close()

    aside = asyncio.run(scenario())
    assert aside is not None and aside.name.startswith("agentdesk.sqlite3.unreadable-")
    assert aside.read_bytes() == garbage  # kept as it was, for IT


FORKER = """
import asyncio, os, sys
from pathlib import Path
import alembic.command, alembic.config, sqlalchemy  # imported once: each first start below is a fork
from agentdesk.store.local import LocalStore

async def first_start(path):
    store = LocalStore(Path(path))
    await store.open()
    await store.close()

for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        asyncio.run(first_start(line.strip()))
        os._exit(0)
    print(pid, flush=True)
    os.waitpid(pid, 0)
    print("done", flush=True)
"""


class FirstStarts:
    """Runs first starts of the store in forked processes, so a kill costs no interpreter start-up."""

    def __init__(self) -> None:
        self.forker = subprocess.Popen(
            [sys.executable, "-c", FORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def run(self, path: Path, kill_after: float | None) -> float:
        """One first start, killed `kill_after` seconds after its file appeared (the migrations run from then
        on); returns how long it ran from that moment."""
        assert self.forker.stdin is not None and self.forker.stdout is not None
        self.forker.stdin.write(f"{path}\n")
        self.forker.stdin.flush()
        pid = int(self.forker.stdout.readline())
        while not path.exists():
            time.sleep(0.0005)
        began = time.perf_counter()
        if kill_after is not None:
            time.sleep(kill_after)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert self.forker.stdout.readline().strip() == "done"
        return time.perf_counter() - began

    def close(self) -> None:
        assert self.forker.stdin is not None
        self.forker.stdin.close()
        self.forker.wait(30)
        if self.forker.stdout is not None:
            self.forker.stdout.close()


async def reopen(path: Path) -> tuple[Path | None, set[str]]:
    store = LocalStore(path)
    await store.open()
    try:
        with store.engine.connect() as connection:
            tables = {row[0] for row in connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")}
        return store.moved_aside, tables
    finally:
        await store.close()


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_kills_during_first_start_never_leave_a_store_that_cannot_open(tmp_path: Path) -> None:
    # Before: about a third of such kills left a half-made schema that never opened again ("table ... already exists").
    starts = FirstStarts()
    try:
        span = starts.run(tmp_path / "measure.sqlite3", None)  # how long the migrations take here
        chance = random.Random(20261206)
        for attempt in range(40):
            path = tmp_path / f"first-start-{attempt}.sqlite3"
            starts.run(path, chance.uniform(0, span))
            moved_aside, tables = asyncio.run(reopen(path))
            assert moved_aside is None, f"kill {attempt} left a store that could not be opened"
            assert {"dispositions", "audit_events", "call_events", "identity_decisions"} <= tables
    finally:
        starts.close()
