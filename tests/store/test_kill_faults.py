"""200 SIGKILLs of a desk process while it saves wrap-ups and syncs them: every acknowledged disposition (with its
booking and referral) is there after restart, the SQLite file passes integrity_check, and once the outbox drains
the central PostgreSQL holds each row exactly once."""

from __future__ import annotations

import asyncio
import os
import random
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from agentdesk.store.central import CentralStore
from agentdesk.store.local import LocalStore
from agentdesk.store.sync import OutboxSync

KILLS = 200
pytestmark = pytest.mark.slow


class Lines:
    """Complete lines from the zygote's stdout (its workers print there), read without Python's buffering so a
    read never swallows lines a later one needs."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        self._fd = process.stdout.fileno()
        self._selector = selectors.DefaultSelector()
        self._selector.register(process.stdout, selectors.EVENT_READ)
        self._buffer = b""
        self._lines: list[str] = []

    def _fill(self, timeout: float) -> bool:
        if not self._selector.select(timeout):
            return False
        chunk = os.read(self._fd, 65536)
        if not chunk:
            raise AssertionError("the zygote exited")
        *complete, self._buffer = (self._buffer + chunk).split(b"\n")
        self._lines += [line.decode() for line in complete]
        return True

    def next(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while not self._lines:
            if not self._fill(max(deadline - time.monotonic(), 0)) and time.monotonic() > deadline:
                raise AssertionError("no line from the zygote")
        return self._lines.pop(0)

    def during(self, seconds: float) -> list[str]:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._fill(left)
        found, self._lines = self._lines, []
        return found


def test_two_hundred_kills_while_saving_and_syncing_lose_and_duplicate_nothing(
    central_url: str, tmp_path: Path
) -> None:
    database = tmp_path / "desk.sqlite3"
    rng = random.Random(20261206)
    acked: dict[str, int] = {}  # call id -> highest acknowledged version
    zygote = subprocess.Popen(
        [sys.executable, "-m", "tests.outcome_child", str(database), central_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert zygote.stdin is not None
    output = Lines(zygote)
    try:
        assert output.next(timeout=60) == "READY"
        for worker in range(KILLS):
            zygote.stdin.write(f"go {worker}\n".encode())
            zygote.stdin.flush()
            line = output.next()
            assert line.startswith("PID "), line
            pid = int(line.split()[1])
            # Anywhere from opening the store (migrations) to deep in the save/sync loop.
            lines = output.during(rng.uniform(0.02, 0.4))
            os.kill(pid, signal.SIGKILL)
            lines += output.during(0.02)  # an ACK written just before the kill still counts
            for line in lines:
                kind, call_id, version = line.split()
                assert kind == "ACK"
                acked[call_id] = max(acked.get(call_id, 0), int(version))
        zygote.stdin.close()
        zygote.wait(timeout=30)
    finally:
        if zygote.poll() is None:
            zygote.kill()
            zygote.wait()
        assert zygote.stdout is not None
        zygote.stdout.close()
    assert len(acked) > KILLS // 4  # the test really saved while it killed (fewer on a loaded machine)
    assert any(version == 2 for version in acked.values())  # and saved some wrap-ups twice

    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        local = {row[0]: (row[1], row[2]) for row in db.execute("SELECT call_id, version, id FROM dispositions")}
        current_details = db.execute(
            "SELECT d.call_id, count(b.id), (SELECT count(*) FROM referrals r WHERE r.disposition_id = d.id "
            "AND r.version = d.version) FROM dispositions d JOIN bookings b ON b.disposition_id = d.id "
            "AND b.version = d.version GROUP BY d.id"
        ).fetchall()
        # The FHIR write-back queue: one write per booking and per referral of every disposition, however often
        # it was saved again or killed (a wrap-up saved again with the same booking takes the first one's write).
        queued = db.execute(
            "SELECT d.call_id, w.kind, count(w.id) FROM dispositions d "
            "LEFT JOIN fhir_writes w ON w.disposition_id = d.id GROUP BY d.id, w.kind"
        ).fetchall()
    for call_id, version in acked.items():
        assert call_id in local, f"acknowledged disposition {call_id} lost"
        assert local[call_id][0] >= version
    assert {row[0] for row in current_details} >= set(acked)
    assert all(bookings == 1 and referrals == 1 for _, bookings, referrals in current_details)
    assert {(kind, count) for _, kind, count in queued} == {("booking", 1), ("referral", 1)}
    assert {call_id for call_id, _, _ in queued} >= set(acked)

    async def drain() -> int:
        store = LocalStore(database)
        await store.open()
        sync = OutboxSync(store, CentralStore(central_url), lambda _: None)
        await sync.sync_once()
        left = await store.pending(sync.tables)
        await sync.stop()
        await store.close()
        return left

    assert asyncio.run(drain()) == 0
    engine = sa.create_engine(central_url)
    with engine.connect() as connection:

        def one(sql: str) -> int:
            return int(connection.execute(sa.text(sql)).scalar_one())

        assert one("SELECT count(*) FROM dispositions WHERE call_id LIKE 'k%'") == len(local)
        assert one("SELECT count(DISTINCT call_id) FROM dispositions WHERE call_id LIKE 'k%'") == len(local)
        central_versions = dict(
            connection.execute(sa.text("SELECT call_id, version FROM dispositions WHERE call_id LIKE 'k%'")).all()
        )
        assert central_versions == {call_id: version for call_id, (version, _) in local.items()}
        for detail in ("bookings", "referrals"):
            current = one(
                f"SELECT count(*) FROM {detail} t JOIN dispositions d ON d.id = t.disposition_id "
                "AND t.version = d.version WHERE d.call_id LIKE 'k%'"
            )
            assert current == len(local)
        events = one("SELECT count(*) FROM call_events WHERE source = 'kill-test'")
        distinct = one("SELECT count(DISTINCT uid) FROM call_events WHERE source = 'kill-test'")
    engine.dispose()
    with sqlite3.connect(database) as db:
        assert events == distinct == db.execute("SELECT count(*) FROM call_events").fetchone()[0]


def test_a_draft_survives_a_killed_process_and_reopens_with_its_call(tmp_path: Path) -> None:
    from tests.outcome_child import FORM, build_desk

    database = tmp_path / "desk.sqlite3"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.outcome_child", "draft", str(database)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        output = Lines(child)
        assert output.next(timeout=60) == "DRAFTED"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        assert child.stdout is not None
        child.stdout.close()

    async def restart() -> None:
        store = LocalStore(database)
        await store.open()
        desk = build_desk(store)
        (context,) = await desk.reopen_drafts()
        assert desk.current is context
        assert (context.call.call_id, context.call.ani) == ("draft-call-1", "+16175550142")
        assert context.draft == FORM  # every field of every form, as typed
        assert context.call.answered_at is not None and not context.wrapped_up
        saved = await desk.save_disposition(context, FORM.code, FORM.notes, "", context.draft)
        assert saved.version == 1
        assert await desk.reopen_drafts() == [] and await store.open_drafts("dana") == []
        await store.close()

    asyncio.run(restart())
