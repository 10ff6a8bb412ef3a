"""The demo's synthetic population and call simulator."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections import Counter
from pathlib import Path

from agentdesk.demo.population import write_demo_data
from agentdesk.demo.simulator import CallSimulator
from agentdesk.telephony.events import CallEvent, CallEventKind


def test_population_is_synthetic_repeatable_and_realistically_messy(tmp_path: Path) -> None:
    data = write_demo_data(tmp_path / "a", count=200, seed=3)
    again = write_demo_data(tmp_path / "b", count=200, seed=3)
    assert data.people == again.people  # same seed, same people
    assert all(re.fullmatch(r"\+1\d{3}555(01\d\d)", p.phone_e164) for p in data.people)  # fiction-only block
    assert max(Counter(p.phone_e164 for p in data.people).values()) >= 2  # households share a line
    ehr = json.loads(data.fhir_file.read_text(encoding="utf-8"))
    spellings = {t["value"][0] for p in ehr for t in p["telecom"] if t["system"] == "phone"}
    assert spellings == {"+", "("}  # the EHR stores numbers two ways: the adapter must try both
    with sqlite3.connect(data.crm_file) as crm:
        crm_rows = crm.execute("SELECT contact_id, street FROM crm_contacts").fetchall()
    by_key = {f"C-{p.key[1:]}": p for p in data.people}
    moved = [cid for cid, street in crm_rows if street != by_key[cid].address_line]
    assert moved  # the CRM knows of moves the EHR does not: conflicts to show
    assert any(not p.in_ehr for p in data.people) and any(not p.in_crm for p in data.people)


def test_population_is_reused_when_unchanged(tmp_path: Path) -> None:
    write_demo_data(tmp_path, count=50, seed=1)
    stamp = (tmp_path / "crm.sqlite3").stat().st_mtime_ns
    write_demo_data(tmp_path, count=50, seed=1)
    assert (tmp_path / "crm.sqlite3").stat().st_mtime_ns == stamp
    write_demo_data(tmp_path, count=60, seed=1)  # a different population is regenerated
    assert (tmp_path / "crm.sqlite3").stat().st_mtime_ns != stamp


def test_simulator_calls_ring_then_answer_and_auto_calls_repeat() -> None:
    events: list[CallEvent] = []

    async def scenario() -> None:
        simulator = CallSimulator(events.append, ["+16175550123"], ["+18005550142"], answer_after_seconds=0.05, seed=1)
        call_id = simulator.simulate_call()
        await asyncio.sleep(0.1)
        simulator.hang_up(call_id)
        simulator.start_auto(0.05)
        await asyncio.sleep(0.18)
        simulator.stop()

    asyncio.run(scenario())
    first = [e for e in events if e.call_id == events[0].call_id]
    assert [e.kind for e in first] == [CallEventKind.OFFERED, CallEventKind.ANSWERED, CallEventKind.ENDED]
    assert first[0].dnis == "+18005550142" and first[0].source == "demo"
    offered = [e for e in events if e.kind is CallEventKind.OFFERED]
    assert len(offered) >= 3  # the manual call plus at least two automatic ones
