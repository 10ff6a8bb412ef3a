"""`agentdesk metrics` on the hand-computed day: the JSON shape of the issue, from the local store and from the
central PostgreSQL store; bad options named."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from agentdesk.store.local import upgrade_schema
from agentdesk.store.opening import make_engine
from tests import metrics_fixture as fx
from tests.commands.test_cli import run

DAY = ("--from", "2026-03-02T00:00:00Z", "--to", "2026-03-03T00:00Z")
KEYS = [
    "offered", "answered", "abandoned", "short_abandoned", "abandon_rate", "asa_s", "avg_hold_s", "aht_s",
    "service_level", "referrals", "bookings", "conversion_rate",
]  # fmt: skip


GROWTH_KEYS = ["speed_to_conversion_s", "lead_to_patient"]


def check_report(stdout: str) -> None:
    report = json.loads(stdout)
    # The keys of the first version first and unchanged; growth keys and groupings after them.
    assert list(report) == ["from", "to", "campaigns", "agents", "totals", "service_lines", "script_versions"]
    assert (report["from"], report["to"]) == ("2026-03-02T00:00:00+00:00", "2026-03-03T00:00:00+00:00")
    assert [c["code"] for c in report["campaigns"]] == ["", "FLU", "HEART"]  # calls with no campaign under ""
    for campaign in report["campaigns"]:
        assert list(campaign) == ["code", *KEYS, *GROWTH_KEYS]
        assert {k: campaign[k] for k in KEYS} == fx.EXPECTED_CAMPAIGNS[campaign["code"]]
    assert {a["agent"]: {k: a[k] for k in KEYS} for a in report["agents"]} == fx.EXPECTED_AGENTS
    assert {k: report["totals"][k] for k in KEYS} == fx.EXPECTED_TOTAL
    # Booked calls c1 (HEART, wrapped 6:00 after its offer) and c6 (FLU, 5:14), callers unidentified: each its
    # own first touch, both bookings of new patients.
    growth = {c["code"]: (c["speed_to_conversion_s"], c["lead_to_patient"]) for c in report["campaigns"]}
    assert growth == {"": (None, 0), "FLU": (314.0, 1), "HEART": (360.0, 1)}
    assert (report["totals"]["speed_to_conversion_s"], report["totals"]["lead_to_patient"]) == (337.0, 2)
    assert [row["service_line"] for row in report["service_lines"]] == [""]  # no campaign files here
    assert report["script_versions"] == []
    assert report["campaigns"][0]["aht_s"] is None  # no finished wrap-up: unknown, not 0


def test_json_from_the_local_store(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    engine = make_engine(tmp_path / "data" / "agentdesk.sqlite3", None)
    upgrade_schema(engine)
    with engine.begin() as connection:
        fx.load(connection)
    engine.dispose()
    result = run("metrics", *DAY, "--json", "--basedir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    check_report(result.stdout)
    table = run("metrics", *DAY, "--basedir", str(tmp_path))
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("local store, 2026-03-02 00:00")
    total = next(line for line in lines if line.startswith("total"))
    assert total.split()[1:6] == ["10", "7", "1", "1", "11.1%"]
    none = next(line for line in lines if line.startswith("campaign (none)"))
    assert "—" in none.split()  # its AHT


def test_json_from_the_central_store(central_url: str, tmp_path: Path) -> None:
    engine = sa.create_engine(central_url)
    with engine.begin() as connection:
        fx.load(connection)
    engine.dispose()
    config = tmp_path / "central.toml"
    config.write_text(f'[store]\ncentral_url = "{central_url}"\n', encoding="utf-8")
    # The local store is empty: the figures must come from the central one.
    result = run("metrics", *DAY, "--json", "--basedir", str(tmp_path), "--config", str(config))
    assert result.returncode == 0, result.stderr
    check_report(result.stdout)


def test_bad_options_are_named(tmp_path: Path) -> None:
    result = run("metrics", "--from", "yesterday", "--to", "2026-03-03", "--basedir", str(tmp_path))
    assert result.returncode == 2 and "--from: 'yesterday' is not an ISO 8601" in result.stderr
    result = run("metrics", "--from", "2026-03-03", "--to", "2026-03-02", "--basedir", str(tmp_path))
    assert result.returncode == 2 and "to: must be after from" in result.stderr


def test_an_empty_store_gives_unknown_rates(tmp_path: Path) -> None:
    result = run("metrics", "--from", "2026-03-02", "--to", "2026-03-03", "--json", "--basedir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    totals = json.loads(result.stdout)["totals"]
    assert totals["offered"] == 0 and totals["abandon_rate"] is None and totals["aht_s"] is None
