"""The team monitor against a real PostgreSQL: the hand-computed day in the grid and tiles, a state change arriving
by NOTIFY, exports, a store that goes away ('stale since'), and only supervisors may open it."""

from __future__ import annotations

import csv
import os
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtCore import Qt

from agentdesk import services
from agentdesk.config import load_settings
from agentdesk.metrics.definitions import MetricOptions
from agentdesk.metrics.live import FeedHealth, LiveFeed
from agentdesk.store.schema import agent_states
from agentdesk.ui.monitor_window import MonitorWindow
from tests import metrics_fixture as fx
from tests.postgres import run_postgres

NOW = fx.at("12:30:00")


@pytest.fixture(autouse=True)
def utc_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """'Today' is the local day: make the local zone UTC so the fixture's day is today."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def state_row(agent: str, state: str, since: datetime, reason: str = "") -> dict[str, object]:
    return {"agent_id": agent, "state": state, "reason": reason, "started_at": since, "uid": str(uuid.uuid4())}


def load_day(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        fx.load(connection)
        connection.execute(
            agent_states.insert(),
            [
                state_row("ana", "wrap_up", fx.at("12:25:00")),  # 5:00 in wrap-up: over the 2:00 limit
                state_row("ben", "not_ready", fx.at("12:10:00"), "Lunch"),  # 20:00: over the 15:00 limit
                state_row("cy", "on_call", fx.at("12:00:08")),
            ],
        )
    engine.dispose()


def start_monitor(qtbot, url: str, poll_seconds: float = 60.0) -> tuple[MonitorWindow, LiveFeed, sa.Engine]:  # type: ignore[no-untyped-def]
    settings = load_settings([], {"monitor": {"roster": [{"login": "ana", "name": "Ana Lopez", "team": "cardio"}]}})
    window = MonitorWindow(settings.monitor)
    qtbot.addWidget(window)
    engine = sa.create_engine(url)
    clock = {"now": NOW}
    feed = LiveFeed(
        engine,
        MetricOptions(),
        window.bridge.snapshot.emit,
        window.bridge.health.emit,
        poll_seconds=poll_seconds,
        clock=lambda: clock["now"],
    )
    window.period_changed.connect(lambda value: feed.refresh_now(value))
    feed.start()
    window.show()
    qtbot.waitUntil(lambda: window.snapshot is not None, timeout=15000)
    return window, feed, engine


def grid(window: MonitorWindow) -> dict[str, list[str]]:
    """The agent grid as the view shows it (each cell's displayed text)."""
    model = window.agents.model()
    return {
        model.index(row, 0).data(): [model.index(row, c).data() for c in range(model.columnCount())]
        for row in range(model.rowCount())
    }


def cell_colour(window: MonitorWindow, agent: str, column: int) -> str | None:
    model = window.agents.model()
    row = next(r for r in range(model.rowCount()) if model.index(r, 0).data() == agent)
    brush = model.index(row, column).data(Qt.ItemDataRole.BackgroundRole)
    return None if brush is None else brush.color().name()


def test_the_hand_computed_day_in_the_grid_and_tiles(qtbot, central_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    load_day(central_url)
    window, feed, engine = start_monitor(qtbot, central_url)
    try:
        window._ticker.stop()  # the grid is compared at the snapshot's time, not the test machine's
        window.agent_grid.tick(NOW)
        rows = grid(window)
        # Agent, Team, State, In state, Call, Call time, Handled, Bookings, Referrals, Occupancy
        assert rows["Ana Lopez"][:9] == ["Ana Lopez", "cardio", "Wrap-up", "5:00", "", "", "2", "1", "0"]
        assert rows["ben"][:9] == ["ben", "", "Not Ready: Lunch", "20:00", "", "", "2", "0", "1"]
        assert rows["cy"][:9] == ["cy", "", "On Call", "29:52", "HEART", "29:52", "2", "1", "2"]
        red = "#fde3e1"
        assert cell_colour(window, "Ana Lopez", 2) == red  # wrap-up over its limit
        assert cell_colour(window, "cy", 2) is None

        tiles = {key: (tile.value.text(), tile.standing.value) for key, tile in window.tiles.items()}
        assert tiles["offered"][0] == "10" and tiles["answered"][0] == "7"
        assert tiles["abandon_rate"] == ("11.1 %", "red")  # goal 5 %, amber to 6.25 %
        assert tiles["asa_s"] == ("0:18", "green")
        assert tiles["avg_hold_s"] == ("0:35", "green")
        assert tiles["aht_s"] == ("4:26", "green")
        assert tiles["service_level"] == ("55.6 %", "red")  # goal 80 %, amber down to 60 %
        assert tiles["conversion_rate"] == ("66.7 %", "green")
        assert tiles["bookings"][0] == "2 · 3"
        campaigns = {
            window.campaigns.item(r, 0).text(): window.campaigns.item(r, 11).text()
            for r in range(window.campaigns.rowCount())
        }
        assert campaigns["HEART"] == "100.0 %" and campaigns["(no campaign)"] == "0.0 %"
        aht_none = next(
            r for r in range(window.campaigns.rowCount()) if window.campaigns.item(r, 0).text() == "(no campaign)"
        )
        assert window.campaigns.item(aht_none, 7).text() == "—"  # no finished wrap-up: unknown, not 0

        # Growth over the period (today): c1 booked 6:00 after its offer, c6 5:14 after; both new patients.
        growth = {
            window.growth.item(r, 0).text(): [window.growth.item(r, c).text() for c in range(1, 7)]
            for r in range(window.growth.rowCount())
        }
        assert growth["HEART"] == ["2", "1", "1", "100.0 %", "6:00", "1"]
        assert growth["FLU"] == ["3", "1", "2", "66.7 %", "5:14", "1"]
        assert growth["(no campaign)"] == ["1", "0", "0", "0.0 %", "—", "0"]
        assert growth["service line (none)"] == ["6", "2", "3", "66.7 %", "5:37", "2"]  # no campaign files here
        assert window.funnel.rowCount() == 0  # no script runs in this day

        # A state change reaches the central store: NOTIFY wakes the feed (polling is a minute away).
        reads = feed.reads
        with engine.begin() as connection:
            connection.execute(agent_states.insert(), state_row("ben", "available", NOW))
        qtbot.waitUntil(lambda: grid(window)["ben"][2] == "Available", timeout=10000)
        assert feed.reads > reads

        # Exports copy what is shown and write it on a worker thread, never the GUI's.
        with qtbot.waitSignal(window.exporter.finished, timeout=10000) as done:
            window.export(window.agents, tmp_path / "agents.csv")
        assert done.args == [True, "Exported agents.csv"]
        with (tmp_path / "agents.csv").open(encoding="utf-8") as handle:
            exported = list(csv.reader(handle))
        assert exported[0][0] == "Agent" and {row[0] for row in exported[1:]} == {"Ana Lopez", "ben", "cy"}
        with qtbot.waitSignal(window.exporter.finished, timeout=10000):
            window.export(window.calls_chart, tmp_path / "calls.png")
        assert (tmp_path / "calls.png").read_bytes().startswith(b"\x89PNG")
        assert window.exporter.writer_threads == ["monitor-export", "monitor-export"]
        with qtbot.waitSignal(window.exporter.finished, timeout=10000) as failed:
            window.export(window.campaigns, tmp_path / "gone" / "campaigns.csv")
        assert failed.args[0] is False and "campaigns.csv" in window.export_status.text()
        window.grab().save(str(tmp_path / "monitor.png"))
    finally:
        feed.stop()
        engine.dispose()


def private_store(url: str) -> None:
    """A PostgreSQL of the test's own (it is stopped or its connections killed) with the hand-computed day."""
    from agentdesk.store.local import upgrade_schema

    engine = sa.create_engine(url)
    upgrade_schema(engine)
    engine.dispose()
    load_day(url)


def test_a_lost_store_shows_stale_since(qtbot) -> None:  # type: ignore[no-untyped-def]
    with run_postgres() as url:
        private_store(url)
        window, feed, engine = start_monitor(qtbot, url, poll_seconds=0.5)
        assert "stale" not in window.status.text()
    try:  # the server is gone now
        qtbot.waitUntil(lambda: "stale since" in window.status.text(), timeout=20000)
        assert window.tiles["offered"].value.text() == "10"  # the last figures stay, marked stale
    finally:
        feed.stop()
        engine.dispose()


def test_only_supervisors_open_the_monitor(tmp_path: Path) -> None:
    machine = tmp_path / "machine.toml"
    machine.write_text('[security]\nsupervisors = ["dana"]\n', encoding="utf-8")
    settings = load_settings([machine], machine=machine)
    assert services.monitor_refusal(settings, "Dana") is None
    refusal = services.monitor_refusal(settings, "ana")
    assert refusal is not None and "supervisors" in refusal and "ana" in refusal
    assert services.monitor_refusal(settings, "ana", demo=True) is None


def test_an_agent_who_opens_the_monitor_is_told_why_not(tmp_path: Path) -> None:
    from tests.commands.test_cli import run

    result = run("--monitor", "--smoke", "--basedir", str(tmp_path))
    assert result.returncode == 3
    assert "The team monitor is for supervisors" in result.stderr and "security.supervisors" in result.stderr


def test_the_demo_monitor_shows_a_simulated_team(tmp_path: Path) -> None:
    from tests.commands.test_cli import run

    shot = tmp_path / "monitor.png"
    result = run(
        "--demo", "--monitor", "--smoke", "--basedir", str(tmp_path),
        env={"AGENTDESK_MONITOR_SCREENSHOT": str(shot)}, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert shot.read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "data" / "demo" / "monitor.sqlite3").is_file()


def test_the_monitor_collects_garbage_on_the_gui_thread_only(tmp_path: Path) -> None:
    """The reader thread allocates most of what the monitor makes; a collection it set off stopped every thread,
    the GUI's included, for a full scan (the longest stalls in benchmarks/monitor_refresh.py), and could destroy
    Qt objects off the GUI thread. Thresholds are lowered so that an automatic collection would surely happen on
    the feed's threads if it could."""
    import subprocess
    import sys

    script = (
        "import gc, sys, threading\n"
        "gc.set_threshold(10, 2, 2)\n"
        "threads = set()\n"
        "gc.callbacks.append(lambda phase, info: threads.add(threading.current_thread().name))\n"
        "from agentdesk.cli import main\n"
        f"code = main(['--demo', '--monitor', '--smoke', '--basedir', {str(tmp_path)!r}])\n"
        "print(','.join(sorted(threads)))\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr
    threads = result.stdout.strip().splitlines()[-1].split(",")
    assert "MainThread" in threads and not [name for name in threads if name.startswith("monitor-")]


def test_the_main_window_opens_the_monitor_for_supervisors_and_tells_agents_why_not(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from PySide6.QtWidgets import QMessageBox

    from agentdesk.commands.gui import LaunchOptions, monitor_command
    from tests.support import make_app

    app = make_app(tmp_path)
    qtbot.addWidget(app.window)
    app.options = replace(app.options, demo=False)  # a real desk: the OS login is an agent, not a supervisor
    assert app.window.monitor_action.shortcut().toString() == "Ctrl+Shift+M"
    app.window.monitor_action.trigger()
    box = app.window.findChild(QMessageBox, "MonitorRefusal")
    assert box is not None and box.isVisible()
    assert "The team monitor is for supervisors" in box.text() and "security.supervisors" in box.text()
    box.close()

    # A supervisor's desk starts `agentdesk --monitor` with the desk's own configuration, as its own process.
    command = monitor_command(LaunchOptions(config=tmp_path / "desk.toml", basedir=tmp_path))
    assert command[1:] == [
        "-m", "agentdesk", "--monitor", "--config", str(tmp_path / "desk.toml"), "--basedir", str(tmp_path)
    ]  # fmt: skip
    assert "--demo" in monitor_command(LaunchOptions(demo=True))


def test_killed_connections_show_stale_since_then_reconnect_by_themselves(qtbot) -> None:  # type: ignore[no-untyped-def]
    with run_postgres() as url:
        private_store(url)
        window, feed, engine = start_monitor(qtbot, url, poll_seconds=0.5)
        healths: list[FeedHealth] = []
        window.bridge.health.connect(healths.append)
        try:
            qtbot.waitUntil(lambda: feed.listening, timeout=15000)
            # Every connection of the monitor dies at once (a failover, an idle-session killer, a DBA).
            admin = sa.create_engine(url, poolclass=sa.pool.NullPool)
            with admin.connect() as connection:
                killed = connection.execute(
                    sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            assert killed >= 2  # the reader's pooled connection and the listener
            qtbot.waitUntil(lambda: any(not h.ok for h in healths), timeout=15000)
            stale = next(h for h in healths if not h.ok)
            assert stale.stale_since is not None  # the window said "stale since HH:MM" with the last good read
            # Back by itself: reads succeed again, the listener is back, and a change made now reaches the grid.
            qtbot.waitUntil(lambda: healths[-1].ok and feed.listening, timeout=20000)
            with admin.begin() as connection:
                connection.execute(agent_states.insert(), state_row("ben", "available", NOW))
            qtbot.waitUntil(lambda: grid(window)["ben"][2] == "Available", timeout=10000)
            assert "stale" not in window.status.text()
            admin.dispose()
        finally:
            feed.stop()
            engine.dispose()


def test_a_custom_period_is_whole_local_days_and_a_backwards_one_is_refused(qtbot) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, timedelta

    from PySide6.QtCore import QDate

    from agentdesk.config.schema import MonitorSettings
    from agentdesk.metrics.definitions import TimeRange

    window = MonitorWindow(MonitorSettings())
    qtbot.addWidget(window)
    window.period_from.setDate(QDate(2026, 3, 2))
    window.period_to.setDate(QDate(2026, 3, 4))
    with qtbot.waitSignal(window.period_changed) as chosen:
        window.period.setCurrentIndex(window.period.findData("custom"))
    assert not window.period_from.isHidden() and not window.period_apply.isHidden()
    assert chosen.args == [TimeRange(fx.D, fx.D + timedelta(days=3))]  # 2 to 4 March, both included (TZ=UTC)
    assert chosen.args[0].start.tzinfo is UTC
    window.period_to.setDate(QDate(2026, 3, 1))
    with qtbot.assertNotEmitted(window.period_changed):
        window.period_apply.click()
    assert "'to' must not be before 'from'" in window.status.text()
