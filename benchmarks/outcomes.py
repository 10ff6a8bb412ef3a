"""Outcomes: the local durable save of a wrap-up, and the outbox's throughput to PostgreSQL.

    python benchmarks/outcomes.py [--saves 500] [--rows 20000]

1. A disposition with a booking and a referral saved through LocalStore as the desk saves it (its audit row
   chained in the same transaction; one transaction on the writer thread, WAL, synchronous=FULL, idempotent per
   call): p50/p99 of the await. Baseline, interleaved in the same run: the same three rows inserted with the
   sqlite3 module and committed, on a file with the same pragmas. Also the same save with SQLite's own checkpoints
   (in the commit that crosses 1,000 WAL pages, as before store/checkpoints.py) and, for the README's durability
   discussion, on a store switched to synchronous=NORMAL (not what AgentDesk ships).
   With strace on the machine, the same save is also run in a child process under `strace -f`, counting fsync and
   fdatasync calls per save: on the writer thread (the save's own) and beside it (the WAL checkpoints).
2. The outbox pushing N dispositions (client UUIDs, COPY into a staging table + INSERT ... SELECT ... ON CONFLICT
   DO NOTHING per batch, each batch marked synced locally) to a throwaway PostgreSQL: rows/s. Baselines in the
   same run: psycopg `executemany` of the same rows (one transaction) and `COPY`, into a table of the same shape.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.postgres: a throwaway server

from tests.postgres import run_postgres

from agentdesk.store.audit import WRAP_UP, AuditEntry
from agentdesk.store.central import CentralStore
from agentdesk.store.dispositions import Disposition
from agentdesk.store.local import LocalStore
from agentdesk.store.outcomes import WrapUpForm, read_outcomes
from agentdesk.store.sync import OutboxSync

START = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d 10:30")
FORM = WrapUpForm(
    "appointment_booked",
    "Booked a consult; referred to cardiology.",
    {
        "booking": {"provider": "Dr. Ada Quill", "location": "Heart Center", "visit_type": "Consult", "start": START},
        "referral": {"target": "Cardiology", "reason": "Chest pain on exertion", "urgency": "urgent"},
    },
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bare_sqlite(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=5000"):
        db.execute(f"PRAGMA {pragma}")
    db.execute("CREATE TABLE d (id TEXT PRIMARY KEY, call_id TEXT, code TEXT, notes TEXT, at TEXT)")
    db.execute("CREATE TABLE b (id TEXT PRIMARY KEY, d TEXT REFERENCES d(id), provider TEXT, starts TEXT)")
    db.execute("CREATE TABLE r (id TEXT PRIMARY KEY, d TEXT REFERENCES d(id), target TEXT, reason TEXT)")
    return db


def bare_save(db: sqlite3.Connection, i: int) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    now = datetime.now(UTC).isoformat()
    db.execute("BEGIN")
    db.execute("INSERT INTO d VALUES (?, ?, ?, ?, ?)", (ids[0], f"call-{i}", "appointment_booked", FORM.notes, now))
    db.execute("INSERT INTO b VALUES (?, ?, ?, ?)", (ids[1], ids[0], "Dr. Ada Quill", START))
    db.execute("INSERT INTO r VALUES (?, ?, ?, ?)", (ids[2], ids[0], "Cardiology", "Chest pain"))
    db.execute("COMMIT")


async def local_saves(folder: Path, saves: int) -> dict[str, list[float]]:
    stores = {
        "agentdesk": LocalStore(folder / "desk.sqlite3"),
        "inline": LocalStore(folder / "inline.sqlite3"),
        "normal": LocalStore(folder / "normal.sqlite3"),
    }
    for label, store in stores.items():
        await (open_inline(store) if label == "inline" else store.open())
    raw = stores["normal"].engine.raw_connection()  # the pooled connection every save of this store uses
    raw.cursor().execute("PRAGMA synchronous=NORMAL")
    raw.close()
    bare = bare_sqlite(folder / "bare.sqlite3")
    timings: dict[str, list[float]] = {label: [] for label in (*stores, "bare")}
    for i in range(saves):
        for label, store in stores.items():
            outcomes = read_outcomes(FORM, {"booking"}, agent_id="dana", time_zone="UTC", now=datetime.now(UTC))
            disposition = Disposition(
                call_id=f"call-{i}", agent_id="dana", disposition_code="appointment_booked", outcome="booking"
            )
            audit = [AuditEntry("dana", WRAP_UP, "EHR:p1", disposition.call_id, disposition.disposition_code)]
            started = time.perf_counter()
            await store.save_disposition(disposition, outcomes, audit=audit)
            timings[label].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        bare_save(bare, i)
        timings["bare"].append((time.perf_counter() - started) * 1000)
    bare.close()
    for store in stores.values():
        await store.close()
    return timings


def new_save() -> tuple[Disposition, Any, list[AuditEntry]]:
    outcomes = read_outcomes(FORM, {"booking"}, agent_id="dana", time_zone="UTC", now=datetime.now(UTC))
    disposition = Disposition(
        call_id=str(uuid.uuid4()), agent_id="dana", disposition_code="appointment_booked", outcome="booking"
    )
    return disposition, outcomes, [AuditEntry("dana", WRAP_UP, "EHR:p1", disposition.call_id, "appointment_booked")]


async def open_inline(store: LocalStore) -> None:
    """Open as before checkpoints moved beside the writer: SQLite checkpoints in the commit crossing 1,000 pages."""
    await store._run(store._open, False)


async def fsync_child(folder: Path, saves: int, inline: bool) -> None:
    """Run under strace: `saves` saves between two fsyncs of a marker file, then the threads' ids on stdout."""
    store = LocalStore(folder / f"traced-{inline}.sqlite3")
    await (open_inline(store) if inline else store.open())
    for _ in range(5):  # the first saves of a fresh file grow it; not what is counted
        await store.save_disposition(*new_save()[:2])
    writer = await store.read(lambda _c: threading.get_native_id())
    checkpointer = store._checkpoints._thread.native_id if store._checkpoints is not None else None
    marker = os.open(folder / "marker", os.O_CREAT | os.O_WRONLY, 0o600)
    os.fsync(marker)
    for _ in range(saves):
        disposition, outcomes, audit = new_save()
        await store.save_disposition(disposition, outcomes, audit=audit)
    os.fsync(marker)
    os.close(marker)
    await store.close()
    print(json.dumps({"writer": writer, "checkpointer": checkpointer, "marker": marker}))


def count_fsyncs(folder: Path, saves: int, inline: bool = False) -> dict[str, float] | None:
    """fsync/fdatasync calls per save (writer thread, checkpointer thread) from `strace -f`; None without strace."""
    strace = shutil.which("strace")
    if strace is None:
        return None
    trace = folder / "strace.txt"
    command = [strace, "-f", "-qq", "-e", "trace=fsync,fdatasync", "-o", str(trace), sys.executable, __file__]
    child = ["--fsync-child", str(saves), str(folder), "inline" if inline else "apart"]
    done = subprocess.run([*command, *child], capture_output=True, text=True)
    if done.returncode != 0:
        return None
    ids = json.loads(done.stdout.strip().splitlines()[-1])
    counts = {"writer": 0, "checkpointer": 0, "other": 0}
    inside = False
    for line in trace.read_text().splitlines():
        tid, _, call = line.partition(" ")
        if call.startswith(f"fsync({ids['marker']}"):
            inside = not inside
            continue
        if not inside or call.startswith("<..."):  # a call resumed is the same call
            continue
        who = {ids["writer"]: "writer", ids["checkpointer"]: "checkpointer"}.get(int(tid), "other")
        counts[who] += 1
    return {who: count / saves for who, count in counts.items()}


def disposition_rows(count: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "id": str(uuid.uuid4()),
            "call_id": f"bench-{i}",
            "agent_id": "dana",
            "campaign_code": "HEART-TV",
            "disposition_code": "appointment_booked",
            "outcome": "booking",
            "notes": "",
            "patient_key": f"EHR:p{i:05d}",
            "offered_at": now,
            "answered_at": now,
            "ended_at": now,
            "wrapup_done_at": now,
            "created_at": now,
            "version": 1,
        }
        for i in range(count)
    ]


async def outbox_push(folder: Path, url: str, rows: list[dict[str, Any]], batch: int) -> float:
    import sqlalchemy as sa

    from agentdesk.store import schema

    store = LocalStore(folder / "outbox.sqlite3")
    await store.open()
    with store.engine.begin() as connection:  # the rows as the desk would have saved them
        connection.execute(sa.insert(schema.dispositions), rows)
    sync = OutboxSync(store, CentralStore(url), lambda _: None, batch_size=batch)
    started = time.perf_counter()
    report = await sync.sync_once()
    elapsed = time.perf_counter() - started
    assert report.pushed == len(rows), report
    await sync.stop()
    await store.close()
    return elapsed


def psycopg_baselines(url: str, rows: list[dict[str, Any]]) -> tuple[float, float]:
    import psycopg

    columns = list(rows[0])
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection:
        for table in ("plain_many", "plain_copy"):
            connection.execute(f"CREATE TABLE {table} (LIKE dispositions INCLUDING ALL)")
        connection.commit()
        values = [tuple(row[c] for c in columns) for row in rows]
        placeholders = ", ".join(["%s"] * len(columns))
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO plain_many ({', '.join(columns)}) VALUES ({placeholders})", values)
        connection.commit()
        many = time.perf_counter() - started
        started = time.perf_counter()
        with connection.cursor() as cursor, cursor.copy(f"COPY plain_copy ({', '.join(columns)}) FROM STDIN") as copy:
            for value in values:
                copy.write_row(value)
        connection.commit()
        copied = time.perf_counter() - started
    return many, copied


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saves", type=int, default=500)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=OutboxSync.BATCH)
    parser.add_argument("--fsync-child", nargs=3, metavar=("SAVES", "FOLDER", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fsync_child:
        saves, folder, mode = args.fsync_child
        asyncio.run(fsync_child(Path(folder), int(saves), mode == "inline"))
        return
    with tempfile.TemporaryDirectory(prefix="agentdesk-bench-") as name:
        folder = Path(name)
        timings = asyncio.run(local_saves(folder, args.saves))
        print(f"local durable save of a disposition + booking + referral ({args.saves} saves, interleaved):")
        for label, values in (
            ("bare sqlite3 insert x3 + commit", timings["bare"]),
            ("AgentDesk (synchronous=FULL)", timings["agentdesk"]),
            ("same, checkpoints in the commit", timings["inline"]),
            ("same, synchronous=NORMAL", timings["normal"]),
        ):
            print(f"  {label:34s} p50 {statistics.median(values):6.2f} ms  p99 {percentile(values, 0.99):6.2f} ms")
        ratio = statistics.median(timings["agentdesk"]) / statistics.median(timings["bare"])
        print(f"  ratio p50 {ratio:.2f}; target p99 < 10 ms")
        for inline, what in ((False, "AgentDesk"), (True, "checkpoints in the commit")):
            fsyncs = count_fsyncs(folder, args.saves, inline)
            if fsyncs is None:
                print("  fsyncs per save: not counted (strace not found)")
                break
            print(
                f"  fsyncs per save, {what} (strace -f, {args.saves} saves): {fsyncs['writer']:.3f} on the writer "
                f"thread, {fsyncs['checkpointer']:.3f} beside it, {fsyncs['other']:.3f} elsewhere"
            )
        rows = disposition_rows(args.rows)
        with run_postgres() as url:
            central = CentralStore(url)
            central.upgrade()
            central.dispose()
            many, copied = psycopg_baselines(url, rows)
            pushed = asyncio.run(outbox_push(folder, url, rows, args.batch))
        rate = args.rows / pushed
        print(f"outbox to PostgreSQL ({args.rows} dispositions, batches of {args.batch}):")
        print(f"  psycopg COPY              {args.rows / copied:9.0f} rows/s")
        print(f"  psycopg executemany       {args.rows / many:9.0f} rows/s")
        print(
            f"  AgentDesk outbox          {rate:9.0f} rows/s  ({rate / (args.rows / many):.0%} of executemany, "
            f"{rate / (args.rows / copied):.0%} of COPY; target >= 70%)"
        )


if __name__ == "__main__":
    main()
