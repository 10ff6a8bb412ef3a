"""The script funnel against hand-computed fixtures: pure, then through the store and `agentdesk scripts funnel`."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest

from agentdesk.campaigns.context import script_context
from agentdesk.campaigns.funnel import RunFacts, build_funnels, format_funnels
from agentdesk.campaigns.loader import parse_campaign_text
from agentdesk.campaigns.runner import CompiledScript, ScriptRun
from agentdesk.cli import main
from agentdesk.paths import AppPaths
from agentdesk.store.local import LocalStore
from tests.campaign_fixtures import DISPOSITIONS, SMALL


def facts(path: str, finished: bool, outcome: str, answered: str = "b", extra: str = "", version: int = 1) -> RunFacts:
    steps = tuple(path.split())
    return RunFacts(
        "s", version, steps, finished, outcome, frozenset(steps) | set(extra.split()), frozenset(answered.split())
    )


def test_funnel_hand_computed() -> None:
    runs = [
        facts("a b c", True, "booking"),
        facts("a b d", True, "info"),
        facts("a b", False, "", answered=""),  # left the script at b
        facts("a b c", True, "booking", extra="d"),  # went to d, came back
        facts("a", False, "", answered="", version=2),
    ]
    v1, v2 = build_funnels(runs)
    assert (v1.script_id, v1.script_version, v1.runs, v1.finished) == ("s", 1, 4, 3)
    assert [(s.step_id, s.reached, s.answered, s.left) for s in v1.steps] == [
        ("a", 4, 0, 0),
        ("b", 4, 3, 1),
        ("c", 2, 0, 0),
        ("d", 2, 0, 0),
    ]
    assert v1.outcomes == Counter(booking=2, info=1, none=1)
    assert [(p.path, p.runs, dict(p.outcomes)) for p in v1.paths] == [
        (("a", "b", "c"), 2, {"booking": 2}),
        (("a", "b"), 1, {"none": 1}),
        (("a", "b", "d"), 1, {"info": 1}),
    ]
    assert [(s.step_id, s.reached, s.left) for s in v2.steps] == [("a", 1, 1)]
    text = format_funnels([v1, v2])
    assert "s v1: 4 run(s), 3 reached an end (booking 2, info 1, none 1)" in text
    assert "2 x a > b > c: booking 2" in text


def test_no_runs() -> None:
    assert build_funnels([]) == []
    assert format_funnels([]) == "no script runs in this period\n"  # a whole line: the shell prompt goes below


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=3)
        return self.now


def runs_of_small(day: dt.datetime) -> list[tuple[ScriptRun, str, str]]:
    script = CompiledScript(parse_campaign_text(SMALL, DISPOSITIONS))

    def new() -> ScriptRun:
        return ScriptRun(script, script_context(None), clock=Clock(day))

    booked = new()
    booked.advance()
    booked.answer("yes")
    booked.advance()
    informed = new()
    informed.advance()
    informed.answer("no")
    left = new()
    left.advance()
    left.answer("yes")
    left.back()  # the caller changed their mind, then the conversation left the script
    left.add_note("Asked about parking")
    return [(booked, "appointment_booked", "booking"), (informed, "information_provided", "info"), (left, "", "")]


def test_runs_stored_and_read_back_through_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = AppPaths.for_basedir(tmp_path)
    day = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)

    async def store_runs() -> None:
        store = LocalStore(paths.local_store)
        await store.open()
        for number, (run, code, outcome) in enumerate(runs_of_small(day)):
            await store.save_script_run(run, f"call-{number}", "dana", code, outcome)
        later, *_ = runs_of_small(day + dt.timedelta(days=2))  # outside the period asked for
        await store.save_script_run(later[0], "call-later", "dana", later[1], later[2])
        await store.close()

    asyncio.run(store_runs())
    assert (
        main(["--basedir", str(tmp_path), "scripts", "funnel", "--from", "2026-11-30", "--to", "2026-11-30", "--json"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    (funnel,) = report["scripts"]
    assert (funnel["script_id"], funnel["script_version"], funnel["runs"], funnel["finished"]) == ("test-line", 2, 3, 2)
    assert funnel["outcomes"] == {"booking": 1, "info": 1, "none": 1}
    steps = {s["step_id"]: (s["reached"], s["answered"], s["left"]) for s in funnel["steps"]}
    assert steps == {
        "greet": (3, 0, 0),
        "want": (3, 3, 1),  # the run that went back still answered once; it left the script here
        "book": (2, 0, 0),
        "end_booked": (1, 0, 0),
        "end_info": (1, 0, 0),
    }
    assert {tuple(p["path"]): p["outcomes"] for p in funnel["paths"]} == {
        ("greet", "want", "book", "end_booked"): {"booking": 1},
        ("greet", "want", "end_info"): {"info": 1},
        ("greet", "want"): {"none": 1},
    }
    assert main(["--basedir", str(tmp_path), "scripts", "funnel", "--from", "2026-12-01", "--to", "2026-12-31"]) == 0
    assert "test-line v2: 1 run(s)" in capsys.readouterr().out
    assert main(["--basedir", str(tmp_path), "scripts", "funnel", "--from", "2026-12-31", "--to", "2026-12-01"]) == 2
    assert main(["--basedir", str(tmp_path), "scripts", "funnel", "--from", "yesterday", "--to", "2026-12-01"]) == 2
    assert "--from/--to: a date is expected" in capsys.readouterr().err


def test_runs_reach_the_central_store_once_and_its_funnel_matches(central_url: str, tmp_path: Path) -> None:
    import sqlalchemy as sa

    from agentdesk.store.central import CentralStore
    from agentdesk.store.script_runs import read_run_facts
    from agentdesk.store.sync import OutboxSync

    day = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)

    async def scenario() -> None:
        store = LocalStore(tmp_path / "desk.sqlite3")
        await store.open()
        sync = OutboxSync(store, CentralStore(central_url), lambda _: None)
        for number, (run, code, outcome) in enumerate(runs_of_small(day)):
            await store.save_script_run(run, f"sync-{number}", "dana", code, outcome)
        await sync.sync_once()
        await sync.sync_once()  # a second round sends nothing again
        await sync.stop()
        await store.close()

    asyncio.run(scenario())
    engine = sa.create_engine(central_url)
    with engine.connect() as connection:
        runs = connection.execute(sa.text("SELECT count(*) FROM script_runs WHERE call_id LIKE 'sync-%'")).scalar()
        events = connection.execute(
            sa.text(
                "SELECT count(*) FROM script_run_events e JOIN script_runs r ON r.id = e.run_id"
                " WHERE r.call_id LIKE 'sync-%'"
            )
        ).scalar()
        central = build_funnels(read_run_facts(connection, day - dt.timedelta(hours=1), day + dt.timedelta(hours=1)))
    engine.dispose()
    assert runs == 3 and events == 15
    (funnel,) = [f for f in central if f.script_id == "test-line"]
    assert (funnel.runs, funnel.finished, dict(funnel.outcomes)) == (3, 2, {"booking": 1, "info": 1, "none": 1})
