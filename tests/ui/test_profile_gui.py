"""The merged profile in the window: three sources, a visible conflict, a household choice, an agent's split
honoured by the next lookup, and the care and contact lists."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from agentdesk.demo.people import SyntheticPerson
from agentdesk.demo.population import DemoData
from tests.support import demo_people, make_app, name_of, start_shown, wait_until

pytestmark = pytest.mark.gui


def crm_streets(data: DemoData) -> dict[str, str]:
    with sqlite3.connect(data.crm_file) as crm:
        return dict(crm.execute("SELECT contact_id, street FROM crm_contacts").fetchall())


def three_source_caller_with_a_conflict(data: DemoData) -> SyntheticPerson:
    facts = json.loads(data.related_file.read_text(encoding="utf-8"))
    counts = Counter(p.phone_e164 for p in data.people)
    streets = crm_streets(data)
    return next(
        p
        for p in data.people
        if p.in_ehr
        and p.in_crm
        and counts[p.phone_e164] == 1
        and facts[p.key]["touches"]
        and streets.get(f"C-{p.key[1:]}", p.address_line) != p.address_line
    )


def household(data: DemoData) -> list[SyntheticPerson]:
    counts = Counter(p.phone_e164 for p in data.people if p.in_ehr)
    phone = next(number for number, count in counts.items() if count == 2)
    return [p for p in data.people if p.phone_e164 == phone and p.in_ehr]


def test_three_sources_conflict_household_and_split(qtbot, run_async, tmp_path: Path) -> None:
    data = demo_people(tmp_path)
    caller = three_source_caller_with_a_conflict(data)
    family = household(data)
    app = make_app(tmp_path, qtbot=qtbot)
    window, profile = app.window, app.window.profile

    async def look_up(number: str) -> None:
        call_id = app.simulator.simulate_call(ani=number, dnis="+18005550142")
        await wait_until(
            lambda: (
                app.desk.current.call.call_id == call_id
                and app.desk.current.lookup is not None
                and app.desk.current.lookup.done
            ),
            what="the lookup",
        )
        app.simulator.hang_up(call_id)
        await wait_until(lambda: app.desk.current.call.state.value == "ended", what="hang-up")

    async def scenario() -> None:
        await start_shown(app)
        await look_up(caller.phone_e164)
        shown = profile.shown_patient
        assert shown is not None and profile.name_label.text() == name_of(caller)
        assert {r.source for r in shown.records} == {"EHR", "CRM", "Marketing"}
        for name in ("EHR", "CRM", "Marketing"):
            assert profile.chips[name].label.text().startswith(f"{name}: 1 record")
        rows = {
            profile.table.item(r, 0).text(): profile.table.item(r, 1).text() for r in range(profile.table.rowCount())
        }
        assert "⚠ 2 values" in rows["Address"]  # the EHR's address, with the CRM's newer one behind the badge
        assert "conflicting" in profile.badges.text()
        touches = [i for i in shown.items if i.kind.value == "campaign_touch"]
        assert touches and all(t.source == "Marketing" for t in touches)

        # A household on one line: two people, the agent chooses; each choice is audited.
        await look_up(family[0].phone_e164)
        assert profile.candidates.isVisibleTo(window) and profile.candidates.count() == 2
        names = {profile.candidates.itemText(i).split(" · ")[0] for i in range(2)}
        assert names == {name_of(p) for p in family}
        profile.candidates.setCurrentIndex(1)
        assert profile.name_label.text() == profile.candidates.itemText(1).split(" · ")[0]

        # The agent splits the merged profile of the first caller; the next lookup keeps them apart.
        await look_up(caller.phone_e164)
        assert profile.not_same_button.isVisibleTo(window)
        profile.not_same_button.click()
        await wait_until(lambda: len(app.desk.current.lookup.patients) == 3, what="the split profile")
        await look_up(caller.phone_e164)
        assert len(app.desk.current.lookup.patients) == 3 and profile.candidates.count() == 3
        await app.desk.drain()
        decisions = await app.store.identity_decisions()
        assert len(decisions) == 3 and {d.decision.value for d in decisions} == {"different"}
        audited = {row["patient_key"] for row in await app.store.audit_events(limit=1000)}
        assert {f"EHR:{p.key.lower()}" for p in family} <= audited
        await app.stop()

    run_async(scenario(), timeout=90)


def test_agent_search_by_name_and_birth_date_and_by_mrn(qtbot, run_async, tmp_path: Path) -> None:
    data = demo_people(tmp_path)
    wanted = next(p for p in data.people if p.in_ehr and p.in_crm)
    app = make_app(tmp_path, qtbot=qtbot)
    profile = app.window.profile

    async def scenario() -> None:
        await start_shown(app)
        app.simulator.simulate_call(ani="+12025550177")  # a number nobody has: the agent asks and searches
        await wait_until(lambda: "No record" in profile.message.text(), what="no record for the number")
        profile.search.setText("Smith")  # a name alone is refused, with the reason
        profile.search.returnPressed.emit()
        await wait_until(lambda: profile.search_feedback.isVisibleTo(app.window), what="the search problem")
        assert profile.search_feedback.text().startswith("Birth date:")
        assert profile.search.text() == "Smith"  # what the agent typed stays
        month, day, year = wanted.birth_date[5:7], wanted.birth_date[8:10], wanted.birth_date[:4]
        profile.search.setText(f"{wanted.family_name}, {wanted.given_name} {month}/{day}/{year}")
        profile.search.returnPressed.emit()
        await wait_until(
            lambda: app.desk.current.lookup.done and profile.name_label.text() == name_of(wanted),
            what="the name search",
        )
        assert not profile.search_feedback.isVisibleTo(app.window)
        assert {r.source for r in profile.shown_patient.records} >= {"EHR", "CRM"}  # the CRM's name query too
        by_name = app.desk.current.lookup
        profile.search.setText(wanted.mrn)
        profile.search.returnPressed.emit()
        await wait_until(
            lambda: (
                app.desk.current.lookup is not by_name
                and app.desk.current.lookup.done
                and profile.name_label.text() == name_of(wanted)
            ),
            what="MRN search",
        )
        # The demo CRM has no MRN query configured: it says so instead of pretending it found nobody.
        assert profile.chips["CRM"].label.toolTip() == "cannot search this way"
        await app.desk.drain()
        audited = {row["patient_key"] for row in await app.store.audit_events(limit=100)}
        assert f"EHR:{wanted.key.lower()}" in audited
        await app.stop()

    run_async(scenario())


def test_search_without_a_call_then_a_call_takes_over(qtbot, run_async, tmp_path: Path) -> None:
    data = demo_people(tmp_path)
    wanted = next(p for p in data.people if p.in_ehr)
    app = make_app(tmp_path, qtbot=qtbot)
    window, profile = app.window, app.window.profile

    async def scenario() -> None:
        await start_shown(app)
        profile.search.setText(wanted.mrn)  # e.g. before calling a patient back
        profile.search.returnPressed.emit()
        await wait_until(lambda: profile.name_label.text() == name_of(wanted), what="the search without a call")
        assert window.call_bar.state_label.text() == "Search"
        assert not window.wrapup.save_button.isEnabled()  # nothing to wrap up
        await app.desk.drain()
        audit = await app.store.audit_events(limit=10)
        assert audit and all(row["call_id"].startswith("search-") for row in audit)
        call_id = app.simulator.simulate_call(ani="+12025550188")
        await wait_until(lambda: app.desk.current.call.call_id == call_id, what="the call taking over")
        # The call bar follows within a frame (refreshes are coalesced).
        await wait_until(lambda: window.call_bar.state_label.text() == "Ringing", what="the call bar")
        assert window.wrapup.disposition.isEnabled()
        await app.stop()

    run_async(scenario())
