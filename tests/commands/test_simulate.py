"""`agentdesk simulate`: a day played through real desks into the store; the metrics read back what it played,
from the local store and, pushed through the outbox, from the central one."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.commands.test_cli import run

DAY = ("--from", "2026-03-02T00:00Z", "--to", "2026-03-03T00:00Z")


def simulate(basedir: Path, *extra: str) -> dict[str, int]:
    result = run(
        "simulate", "--agents", "4", "--hours", "1.5", "--seed", "5", "--start", "2026-03-02T08:00Z",
        "--basedir", str(basedir), *extra, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    counts = re.search(
        r"(\d+) calls, (\d+) abandoned, (\d+) transferred, (\d+) bookings, (\d+) referrals", result.stdout
    )
    assert counts is not None, result.stdout
    return dict(
        zip(("calls", "abandoned", "transferred", "bookings", "referrals"), map(int, counts.groups()), strict=True)
    )


def totals(basedir: Path, *extra: str) -> dict[str, object]:
    result = run("metrics", *DAY, "--json", "--basedir", str(basedir), *extra)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["agents"]) == 4
    return dict(report["totals"])


def test_a_simulated_day_is_what_the_metrics_read(tmp_path: Path) -> None:
    played = simulate(tmp_path / "a")
    assert played["calls"] > 40 and played["abandoned"] > 0 and played["bookings"] > 0 and played["referrals"] > 0
    figures = totals(tmp_path / "a")
    assert figures["offered"] == played["calls"]
    assert int(figures["abandoned"]) + int(figures["short_abandoned"]) == played["abandoned"]  # type: ignore[call-overload]
    assert (figures["bookings"], figures["referrals"]) == (played["bookings"], played["referrals"])
    assert 0 < float(figures["service_level"]) <= 1 and float(figures["aht_s"]) > 60  # type: ignore[arg-type]
    # The same seed plays the same day.
    assert simulate(tmp_path / "b") == played and totals(tmp_path / "b") == figures


def test_a_simulated_day_reaches_the_central_store(central_url: str, tmp_path: Path) -> None:
    config = tmp_path / "central.toml"
    config.write_text(f'[store]\ncentral_url = "{central_url}"\n', encoding="utf-8")
    played = simulate(tmp_path / "desk", "--config", str(config))
    other = tmp_path / "supervisor"  # another workstation: an empty local store, the same central one
    figures = totals(other, "--config", str(config))
    assert figures["offered"] == played["calls"] and figures["bookings"] == played["bookings"]


def test_bad_sizes_are_named(tmp_path: Path) -> None:
    result = run("simulate", "--agents", "0", "--hours", "8", "--basedir", str(tmp_path))
    assert result.returncode == 2 and "--agents" in result.stderr
    result = run("simulate", "--agents", "2", "--hours", "30", "--basedir", str(tmp_path))
    assert result.returncode == 2 and "--hours" in result.stderr
