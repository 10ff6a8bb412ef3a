"""Team monitor: a full refresh of every figure over a big central store, and the live grid under a stream of
agent state changes.

    python benchmarks/monitor_refresh.py [--agents 500] [--calls 100000] [--days 1] [--runs 30] [--live-runs 3]

A throwaway PostgreSQL (tests/postgres.py) gets `--agents` agents and `--calls` calls spread over `--days` days
(today last; five to seven events each, as desks log them: ring-all, holds, abandons, transfers, dispositions
with bookings and referrals), loaded with COPY. Then:
- summarising: the load queues every call (the store's triggers); bringing call_summaries up to date once;
- full refresh: read_snapshot (board + totals + per campaign + per queue + today's chart) p50/p95 over the per-call
  summaries, beside the previous query path (the same snapshot computed from the events themselves, as metrics
  read before call_summaries) and the baseline of one plain scan of today's call events (SELECT count(*) over the
  same rows), all in the same run, alternating;
- live: 20 agent state changes per second for 10 s into PostgreSQL while a LiveFeed (LISTEN/NOTIFY) drives the
  real MonitorWindow on an offscreen QApplication: the delay from each change's commit to the grid showing it,
  and the longest gap between 5 ms Qt timer ticks (how long the GUI thread was ever busy). Alternating, the
  monitor as `agentdesk --monitor` runs it (garbage collected on the GUI thread, startup objects frozen) and as
  it ran before (Python's automatic collection, in whichever thread allocates: mostly the reader); then the
  baseline of the gaps: the same window, writer and ticks with no feed reading.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
import sqlalchemy as sa
from tests.postgres import run_postgres

from agentdesk.metrics import board, operations
from agentdesk.metrics.definitions import MetricOptions, TimeRange
from agentdesk.metrics.snapshot import Snapshot, local_midnight, read_snapshot
from agentdesk.metrics.summaries import bring_up_to_date, summaries_from_events
from agentdesk.store.local import upgrade_schema

CAMPAIGNS = (
    ("HEART-TV", "heart-screening"),
    ("NEW-PATIENT", "new-patients"),
    ("REFERRAL-LINE", "referrals"),
    ("", "general"),
)
# The previous query path read every event within this of the window (a call's events all lie within it).
CALL_SPAN = timedelta(hours=12)
EVENT_COLUMNS = (
    "call_id", "kind", "state", "source", "occurred_at", "recorded_at", "reason", "campaign_code", "agent_id",
    "queue", "uid",
)  # fmt: skip


def generate(
    agents: int, calls: int, days: int, now: datetime, seed: int = 7
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]:
    """(call event rows, disposition rows, booking rows) for the store."""
    rng = random.Random(seed)
    start = local_midnight(now) - timedelta(days=days - 1)
    span = (now - start).total_seconds()
    events: list[tuple[object, ...]] = []
    dispositions: list[tuple[object, ...]] = []
    bookings: list[tuple[object, ...]] = []
    names = [f"agent{n:04d}" for n in range(agents)]

    def add(call: str, kind: str, state: str, at: datetime, reason: str, campaign: str, agent: str, queue: str) -> None:
        events.append((call, kind, state, "bench", at, at, reason, campaign, agent, queue, str(uuid.uuid4())))

    for number in range(calls):
        call = f"bench-{number:07d}"
        campaign, queue = rng.choice(CAMPAIGNS)
        agent = rng.choice(names)
        offered = start + timedelta(seconds=rng.uniform(0, span))
        add(call, "offered", "ringing", offered, "", campaign, agent, queue)
        if rng.random() < 0.07:
            add(
                call,
                "ended",
                "ended",
                offered + timedelta(seconds=rng.uniform(1, 90)),
                "abandoned",
                campaign,
                agent,
                queue,
            )
            continue
        answered = offered + timedelta(seconds=rng.uniform(2, 60))
        if rng.random() < 0.1:
            other = rng.choice(names)
            add(call, "offered", "ringing", offered, "", campaign, other, queue)
            add(call, "answered", "ended", answered, "answered elsewhere", campaign, other, queue)
        add(call, "answered", "talking", answered, "", campaign, agent, queue)
        cursor = answered + timedelta(seconds=rng.uniform(60, 200))
        if rng.random() < 0.3:
            add(call, "held", "held", cursor, "", campaign, agent, queue)
            cursor += timedelta(seconds=rng.uniform(20, 120))
            add(call, "resumed", "talking", cursor, "", campaign, agent, queue)
        ended = cursor + timedelta(seconds=rng.uniform(30, 200))
        if ended > now:
            continue  # still talking
        add(call, "ended", "ended", ended, "hung up", campaign, agent, queue)
        done = ended + timedelta(seconds=rng.uniform(15, 90))
        outcome = rng.choices(("booking", "referral", "info"), (0.2, 0.1, 0.7))[0]
        disposition = str(uuid.uuid4())
        dispositions.append((disposition, call, agent, campaign, outcome, outcome, done, done))
        if outcome == "booking":
            bookings.append(
                (str(uuid.uuid4()), disposition, "Dr A", "Main", "new", done + timedelta(days=3), True, done)
            )
    return events, dispositions, bookings


def load(url: str, agents: int, calls: int, days: int, now: datetime) -> int:
    engine = sa.create_engine(url)
    upgrade_schema(engine)
    engine.dispose()
    events, dispositions, bookings = generate(agents, calls, days, now)
    address = sa.make_url(url)
    with psycopg.connect(host=address.host, port=address.port, user=address.username, dbname=address.database) as db:
        with db.cursor() as cursor:
            with cursor.copy(f"COPY call_events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
                for row in events:
                    copy.write_row(row)
            with cursor.copy(
                "COPY dispositions (id, call_id, agent_id, campaign_code, disposition_code, outcome, wrapup_done_at,"
                " created_at) FROM STDIN"
            ) as copy:
                for row in dispositions:
                    copy.write_row(row)
            with cursor.copy(
                "COPY bookings (id, disposition_id, provider, location, visit_type, starts_at, new_patient, created_at)"
                " FROM STDIN"
            ) as copy:
                for row in bookings:
                    copy.write_row(row)
            rng = random.Random(3)
            states = ("available", "on_call", "wrap_up", "not_ready")
            with cursor.copy("COPY agent_states (agent_id, state, reason, started_at, uid) FROM STDIN") as copy:
                for n in range(agents):
                    copy.write_row(
                        (
                            f"agent{n:04d}",
                            rng.choice(states),
                            "",
                            now - timedelta(seconds=rng.uniform(0, 900)),
                            str(uuid.uuid4()),
                        )
                    )
        db.execute("ANALYZE")
    return len(events)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summarise(url: str) -> float:
    """Seconds to bring call_summaries up to date after the load (every call queued by the triggers)."""
    engine = sa.create_engine(url)
    began = time.perf_counter()
    with engine.begin() as connection:
        bring_up_to_date(connection)
    elapsed = time.perf_counter() - began
    # What autovacuum does soon after a bulk change (here at once, so the runs do not race it).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE call_summaries, call_summary_changes"))
    engine.dispose()
    return elapsed


def facts_from_events(window: TimeRange) -> sa.Subquery:
    """The previous query path: each refresh summarises the window's calls from their events."""
    rows = summaries_from_events(window.start - CALL_SPAN, window.end + CALL_SPAN).subquery("calls")
    return sa.select(rows).where(rows.c.offered_at >= window.start, rows.c.offered_at < window.end).subquery("facts")


@contextlib.contextmanager
def previous_query_path() -> Iterator[None]:
    saved = operations.call_facts
    operations.call_facts = board.call_facts = facts_from_events
    try:
        yield
    finally:
        operations.call_facts = board.call_facts = saved


def full_refresh(url: str, now: datetime, runs: int) -> tuple[list[float], list[float], list[float]]:
    engine = sa.create_engine(url)
    today = local_midnight(now)
    baseline_sql = sa.text("SELECT count(*) FROM call_events WHERE occurred_at >= :start AND occurred_at < :end")
    refresh, previous, baseline = [], [], []
    with engine.connect() as connection:
        for _ in range(3):  # warm the caches and the plans
            read_snapshot(connection, now, MetricOptions())
            with previous_query_path():
                read_snapshot(connection, now, MetricOptions())
            connection.rollback()
        for _ in range(runs):  # alternating, side by side
            began = time.perf_counter()
            read_snapshot(connection, now, MetricOptions())
            refresh.append((time.perf_counter() - began) * 1000)
            connection.rollback()
            with previous_query_path():
                began = time.perf_counter()
                read_snapshot(connection, now, MetricOptions())
                previous.append((time.perf_counter() - began) * 1000)
            connection.rollback()
            began = time.perf_counter()
            connection.execute(baseline_sql, {"start": today, "end": today + timedelta(days=1)}).scalar()
            baseline.append((time.perf_counter() - began) * 1000)
            connection.rollback()
    engine.dispose()
    return refresh, previous, baseline


def live(
    url: str, agents: int, seconds: float = 10.0, rate: float = 20.0, mode: str = "now"
) -> tuple[list[float], float, int, int]:
    """(delay ms from commit to grid per change, longest GUI-thread gap ms, gaps over 50 ms, snapshots shown).
    `mode`: "now" (as run_monitor: GuiThreadCollector, frozen startup), "before" (automatic collection), "idle"
    (no feed: the baseline of the gaps)."""
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from agentdesk.config.schema import MonitorSettings
    from agentdesk.metrics.live import LiveFeed
    from agentdesk.ui.garbage import GuiThreadCollector
    from agentdesk.ui.monitor_window import MonitorWindow

    app = QApplication.instance() or QApplication([])
    collector = GuiThreadCollector(app) if mode != "before" else None
    window = MonitorWindow(MonitorSettings())
    engine = sa.create_engine(url, pool_size=4)
    committed: dict[str, float] = {}
    delays: list[float] = []
    shown = [0]

    def on_snapshot(snapshot: Snapshot) -> None:
        # Every change committed before this read began is on the grid now (the grid shows each agent's latest).
        shown[0] += 1
        seen = time.time()
        read = snapshot.read_at.timestamp()
        for marker, at in list(committed.items()):
            if at <= read:
                delays.append((seen - committed.pop(marker)) * 1000)

    window.bridge.snapshot.connect(on_snapshot)  # after show_snapshot (connected first)
    showing: list[float] = []  # how long each snapshot took the GUI thread to show
    shown_by_window = window.show_snapshot

    def timed_show(snapshot: Snapshot) -> None:
        began = time.perf_counter()
        shown_by_window(snapshot)
        showing.append((time.perf_counter() - began) * 1000)

    window.bridge.snapshot.disconnect(shown_by_window)
    window.bridge.snapshot.connect(timed_show)
    window.bridge.snapshot.disconnect(on_snapshot)
    window.bridge.snapshot.connect(on_snapshot)
    feed = LiveFeed(engine, MetricOptions(), window.bridge.snapshot.emit, window.bridge.health.emit, poll_seconds=5)
    window.show()
    if collector is not None:
        GuiThreadCollector.freeze_startup()
    if mode != "idle":
        feed.start()
    stop = threading.Event()

    def writer() -> None:
        address = sa.make_url(url)
        with psycopg.connect(
            host=address.host, port=address.port, user=address.username, dbname=address.database, autocommit=True
        ) as db:
            rng = random.Random(11)
            count = 0
            interval = 1 / rate
            next_at = time.perf_counter()
            while not stop.is_set():
                count += 1
                marker = f"m{count}"
                agent = f"agent{rng.randrange(agents):04d}"
                db.execute(
                    "INSERT INTO agent_states (agent_id, state, reason, started_at, uid)"
                    " VALUES (%s, 'not_ready', %s, now(), %s)",
                    (agent, marker, str(uuid.uuid4())),
                )
                committed[marker] = time.time()
                next_at += interval
                time.sleep(max(0.0, next_at - time.perf_counter()))

    gaps = [0.0]
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    over = [0]

    def tick() -> None:
        now_ms = clock.elapsed()
        gap = now_ms - last[0] - 5
        gaps[0] = max(gaps[0], gap)
        over[0] += gap > 50
        last[0] = now_ms

    ticker = QTimer()
    ticker.setInterval(5)
    ticker.timeout.connect(tick)
    time.sleep(0)
    thread = threading.Thread(target=writer, daemon=True)
    QTimer.singleShot(1500, lambda: (thread.start(), ticker.start(), last.__setitem__(0, clock.elapsed())))
    QTimer.singleShot(int(1500 + seconds * 1000), lambda: (stop.set(), ticker.stop(), app.quit()))
    app.exec()
    thread.join()
    feed.stop()
    engine.dispose()
    window.close()
    window.deleteLater()
    if collector is not None:
        collector.stop()
        collector.deleteLater()
    print(
        f"  {mode}: GUI thread per snapshot shown: p50 {statistics.median(showing or [0]):.1f} ms, "
        f"max {max(showing or [0]):.1f} ms; longest gap between 5 ms ticks {gaps[0]:.0f} ms, {over[0]} over 50 ms",
        flush=True,
    )
    return delays, gaps[0], over[0], shown[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=1, help="spread the calls over this many days (today last)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-live", action="store_true", help="measure the full refresh only")
    parser.add_argument("--live-runs", type=int, default=3, help="10 s live runs of each mode, alternating")
    args = parser.parse_args()
    now = datetime.now(UTC)
    with run_postgres() as url:
        began = time.perf_counter()
        events = load(url, args.agents, args.calls, args.days, now)
        print(
            f"loaded {args.calls} calls ({events} events) for {args.agents} agents over {args.days} day(s) "
            f"in {time.perf_counter() - began:.1f} s",
            flush=True,
        )
        print(f"call summaries brought up to date after the load in {summarise(url):.1f} s", flush=True)
        refresh, previous, baseline = full_refresh(url, now, args.runs)
        print(
            f"full refresh: p50 {statistics.median(refresh):.0f} ms, p95 {percentile(refresh, 0.95):.0f} ms; "
            f"previous query path (from the events): p50 {statistics.median(previous):.0f} ms, "
            f"p95 {percentile(previous, 0.95):.0f} ms; "
            f"baseline (one scan of today's events): p50 {statistics.median(baseline):.0f} ms, "
            f"p95 {percentile(baseline, 0.95):.0f} ms; "
            f"refresh / previous medians {statistics.median(refresh) / statistics.median(previous):.2f}, "
            f"refresh / baseline {statistics.median(refresh) / statistics.median(baseline):.1f}x",
            flush=True,
        )
        if args.no_live:
            return
        results: dict[str, list[tuple[list[float], float, int, int]]] = {"now": [], "before": [], "idle": []}
        for _ in range(args.live_runs):
            for mode in ("now", "before", "idle"):
                results[mode].append(live(url, args.agents, mode=mode))
        for mode, runs in results.items():
            delays = [delay for run in runs for delay in run[0]]
            gaps = sorted(run[1] for run in runs)
            shown = sum(run[3] for run in runs)
            over = sum(run[2] for run in runs)
            where = (
                f"commit -> grid p50 {statistics.median(delays):.0f} ms, p95 {percentile(delays, 0.95):.0f} ms, "
                f"max {max(delays):.0f} ms ({len(delays)} changes, {shown} snapshots); "
                if delays
                else ""
            )
            print(
                f"live, {mode}: {where}longest GUI-thread gap per run {', '.join(f'{g:.0f}' for g in gaps)} ms "
                f"(median {statistics.median(gaps):.0f}); gaps over 50 ms: {over} in {len(runs) * 10} s"
            )


if __name__ == "__main__":
    main()
