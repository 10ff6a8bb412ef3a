"""Outcomes: the local durable save of a wrap-up, and the outbox's throughput to PostgreSQL.

    python benchmarks/outcomes.py [--saves 500] [--rows 20000] [--rounds 9] [--outbox-only]

1. A disposition with a booking and a referral saved through LocalStore as the desk saves it (its audit row
   chained in the same transaction; one transaction on the writer thread, WAL, synchronous=FULL, idempotent per
   call): p50/p99 of the await. Baseline, interleaved in the same run: the same three rows inserted with the
   sqlite3 module and committed, on a file with the same pragmas. Also the same save with SQLite's own checkpoints
   (in the commit that crosses 1,000 WAL pages, as before store/checkpoints.py) and, for the README's durability
   discussion, on a store switched to synchronous=NORMAL (not what AgentDesk ships).
   With strace on the machine, the same save is also run in a child process under `strace -f`, counting fsync and
   fdatasync calls per save: on the writer thread (the save's own) and beside it (the WAL checkpoints).
2. The outbox pushing N dispositions (client UUIDs, COPY into a staging table + INSERT ... SELECT ... ON CONFLICT
   per batch, each batch marked synced locally) to a throwaway PostgreSQL: rows/s, in rounds (`--rounds`, after a
   warm-up round): each round makes N fresh rows and pushes the same rows with the outbox and with the baselines,
   psycopg `executemany` (one transaction) and `COPY` into tables of the same shape, plus `executemany` into the
   whole central schema (its summary trigger), in an order that reverses every round. Printed: medians and min-max
   of the rates and of the per-round ratios; CPU per 1,000 rows of this process and of the whole PostgreSQL cluster;
   per round the outbox's phases, and the checkpoints and autovacuums that ran during each method.
   `--outbox-only` skips part 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
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
from collections.abc import Callable
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
            "call_id": f"bench-{uuid.uuid4()}",  # a call per disposition, as at a desk
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


class TimedStore(LocalStore):
    """The desk's store, adding up the time the outbox spends on its local side (reading batches, marking them)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.phases = {"read": 0.0, "mark": 0.0}

    async def outbox_batch(self, table: Any, limit: int, after: int | None = None) -> Any:
        started = time.perf_counter()
        try:
            return await super().outbox_batch(table, limit, after)
        finally:
            self.phases["read"] += time.perf_counter() - started

    async def mark_synced(self, table: Any, rows: Any) -> None:
        started = time.perf_counter()
        try:
            await super().mark_synced(table, rows)
        finally:
            self.phases["mark"] += time.perf_counter() - started


class TimedCentral(CentralStore):
    """The central store, adding up the time of its pushes (on the worker thread: COPY, INSERT ... SELECT, commit)."""

    pushing = 0.0
    first = last = 0.0

    def push(self, target: Any, rows: Any) -> None:
        started = time.perf_counter()
        self.first = self.first or started
        try:
            super().push(target, rows)
        finally:
            self.last = time.perf_counter()
            self.pushing += self.last - started


async def outbox_push(path: Path, url: str, rows: list[dict[str, Any]], batch: int) -> dict[str, float]:
    """One sync_once of `rows` stored as the desk stores them (not timed): its wall time and its phases' sums."""
    import sqlalchemy as sa

    from agentdesk.store import schema

    store = TimedStore(path)
    await store.open()
    with store.engine.begin() as connection:  # the rows as the desk would have saved them
        connection.execute(sa.insert(schema.dispositions), rows)
    central = TimedCentral(url)
    central.check_schema()  # what a desk does first when it starts syncing: its connection is open, as the baseline's
    sync = OutboxSync(store, central, lambda _: None, batch_size=batch)
    cpu = time.process_time()
    started = time.perf_counter()
    report = await sync.sync_once()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    assert report.pushed == len(rows), report
    await sync.stop()
    await store.close()
    # Before the first push and after the last: the pipeline's ends, where nothing overlaps.
    ends = (central.first - started) + (started + elapsed - central.last)
    return {"wall": elapsed, "cpu": cpu, "push": central.pushing, "ends": ends, **store.phases}


def plain_executemany(dsn: str, rows: list[dict[str, Any]], table: str = "plain_many") -> dict[str, float]:
    """The baseline: psycopg's executemany of the same rows into a table of the same shape, one transaction."""
    import psycopg

    columns = list(rows[0])
    placeholders = ", ".join(["%s"] * len(columns))
    with psycopg.connect(dsn) as connection:
        cpu = time.process_time()
        started = time.perf_counter()
        values = [tuple(row[c] for c in columns) for row in rows]
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", values)
        connection.commit()
        return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu}


def plain_copy(dsn: str, rows: list[dict[str, Any]]) -> dict[str, float]:
    import psycopg

    columns = list(rows[0])
    with psycopg.connect(dsn) as connection:
        cpu = time.process_time()
        started = time.perf_counter()
        with connection.cursor() as cursor, cursor.copy(f"COPY plain_copy ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(row[c] for c in columns))
        connection.commit()
        return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu}


def server_cpu(postmaster: int) -> float:
    """CPU seconds the whole throwaway cluster used so far: the postmaster, its children alive, those it reaped."""
    ticks = os.sysconf("SC_CLK_TCK")

    def fields(pid: int | str) -> list[str]:
        with contextlib.suppress(OSError):
            text = Path(f"/proc/{pid}/stat").read_text()
            return text[text.rindex(")") + 2 :].split()  # after "pid (name) "
        return []

    own = fields(postmaster)
    total = sum(int(v) for v in own[11:15]) if own else 0  # utime stime cutime cstime
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(postmaster):
            child = fields(entry.name)
            if child and int(child[1]) == postmaster:
                total += int(child[11]) + int(child[12])
    return total / ticks


def server_activity(dsn: str) -> tuple[int, int, float]:
    """(checkpoints, autovacuum + autoanalyze runs on the written tables, the cluster's CPU seconds) so far."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        backend = Path(f"/proc/{connection.info.backend_pid}/stat").read_text()
        postmaster = int(backend[backend.rindex(")") + 2 :].split()[1])
        checkpoints = connection.execute("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter").fetchone()
        vacuums = connection.execute(
            "SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_user_tables "
            "WHERE relname IN ('dispositions', 'plain_many', 'plain_copy', 'call_summary_changes')"
        ).fetchone()
    return int(checkpoints[0] if checkpoints else 0), int(vacuums[0] if vacuums else 0), server_cpu(postmaster)


def outbox_rounds(url: str, folder: Path, count: int, rounds: int, batch: int) -> list[dict[str, Any]]:
    """Each round: fresh rows, pushed by the outbox and by the baselines into tables that grow alike, in an order
    that reverses from round to round; round 0 warms the server up and is not counted. The baselines' tables have
    the shape and indexes of the central `dispositions` but not its trigger (every inserted row queues its call for
    the summaries, migrations 0012 and 0014), which the outbox's rows fire; for that part, executemany also runs
    into `dispositions` of a second database with the whole central schema, on the same server."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as connection:
        for table in ("plain_many", "plain_copy"):
            connection.execute(f"CREATE TABLE {table} (LIKE dispositions INCLUDING ALL)")
        connection.execute("CREATE DATABASE schema_baseline")
    whole = url.rsplit("/", 1)[0] + "/schema_baseline"
    central = CentralStore(whole)
    central.upgrade()
    central.dispose()
    results = []
    for number in range(rounds + 1):
        rows = disposition_rows(count)
        runs: dict[str, Callable[[], dict[str, float]]] = {
            "executemany": functools.partial(plain_executemany, dsn, rows),
            "copy": functools.partial(plain_copy, dsn, rows),
            "schema": functools.partial(
                plain_executemany, dsn.rsplit("/", 1)[0] + "/schema_baseline", rows, "dispositions"
            ),
            "outbox": functools.partial(
                asyncio.run, outbox_push(folder / f"outbox-{number}.sqlite3", url, rows, batch)
            ),
        }
        order = list(runs) if number % 2 == 0 else list(reversed(runs))
        found: dict[str, Any] = {"order": order, "load": os.getloadavg()[0]}
        for label in order:
            before = server_activity(dsn)
            found[label] = runs[label]()
            after = server_activity(dsn)
            found[label]["checkpoints"] = after[0] - before[0]
            found[label]["vacuums"] = after[1] - before[1]
            found[label]["server"] = after[2] - before[2]
        if number > 0:
            results.append(found)
    return results


def spread(values: list[float], unit: str = "") -> str:
    return f"median {statistics.median(values):7.0f}{unit} (min {min(values):.0f}, max {max(values):.0f})"


def report_outbox(results: list[dict[str, Any]], count: int, batch: int) -> None:
    loads = [r["load"] for r in results]
    print(
        f"outbox to PostgreSQL ({count} fresh dispositions per round, {len(results)} interleaved rounds after a "
        f"warm-up, batches of {batch}; load average {min(loads):.1f}-{max(loads):.1f}; target: AgentDesk >= 70% "
        "of executemany; 'schema' is executemany into the whole central schema, with its summary trigger):"
    )
    for label, what in (
        ("copy", "psycopg COPY"),
        ("executemany", "psycopg executemany"),
        ("schema", "executemany, trigger"),
        ("outbox", "AgentDesk"),
    ):
        print(f"  {what:20s} rows/s {spread([count / r[label]['wall'] for r in results])}")
    for base in ("executemany", "copy", "schema"):
        ratios = [r[base]["wall"] / r["outbox"]["wall"] * 100 for r in results]
        print(
            f"  AgentDesk / {base:11s} in the same round: {spread(ratios, '%')}; "
            f"rounds: {', '.join(f'{x:.0f}' for x in ratios)}"
        )
    print("  per 1,000 rows, medians (ms): wall, this process's CPU, the PostgreSQL cluster's CPU")
    per = 1000 / count
    for label in ("executemany", "copy", "schema", "outbox"):
        print(
            f"    {label:11s} wall {statistics.median(r[label]['wall'] for r in results) * 1000 * per:5.1f}"
            f"  client CPU {statistics.median(r[label]['cpu'] for r in results) * 1000 * per:5.1f}"
            f"  server CPU {statistics.median(r[label]['server'] for r in results) * 1000 * per:5.1f}"
        )
    print(
        "  outbox phases per round (ms; reads and marks overlap the pushes): wall, local reads, pushes, marks, "
        "ends (before the first push and after the last); checkpoints and autovacuums during each method"
    )
    for r in results:
        o = r["outbox"]
        activity = "/".join(f"{r[label]['checkpoints']}+{r[label]['vacuums']}" for label in ("executemany", "outbox"))
        print(
            f"    load {r['load']:4.1f}  {r['order'][0]:11s} first  wall {o['wall'] * 1000:5.0f}"
            f"  read {o['read'] * 1000:4.0f}  push {o['push'] * 1000:5.0f}  mark {o['mark'] * 1000:4.0f}"
            f"  ends {o['ends'] * 1000:4.0f}"
            f"  executemany {r['executemany']['wall'] * 1000:5.0f}  checkpoints+autovacuums {activity}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saves", type=int, default=500)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=OutboxSync.BATCH)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--outbox-only", action="store_true", help="skip the local save figures")
    parser.add_argument("--fsync-child", nargs=3, metavar=("SAVES", "FOLDER", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fsync_child:
        saves, folder, mode = args.fsync_child
        asyncio.run(fsync_child(Path(folder), int(saves), mode == "inline"))
        return
    with tempfile.TemporaryDirectory(prefix="agentdesk-bench-") as name:
        folder = Path(name)
        if not args.outbox_only:
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
        with run_postgres() as url:
            central = CentralStore(url)
            central.upgrade()
            central.dispose()
            results = outbox_rounds(url, folder, args.rows, args.rounds, args.batch)
        report_outbox(results, args.rows, args.batch)


if __name__ == "__main__":
    main()
