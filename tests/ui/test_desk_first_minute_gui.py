"""What a new agent meets in the first minute: the demo opens Available with a visible Auto-call switch, and its
first call is a known caller with a household and a conflict, greeted by name. Then the small things that got in
the way at the desk: the search box per call, what a failed search says, the profile not jumping, the Care tab
not cutting text, an earlier wrap-up in the timeline."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtWidgets import QCheckBox

from agentdesk.records.merge import merge_records
from agentdesk.records.model import CareItem, ItemKind, LookupResult, SourceRecord, SourceState, SourceStatus
from agentdesk.ui.care_view import CareView
from agentdesk.ui.profile_panel import ProfilePanel
from tests.support import make_app, single_callers, start_shown, wait_until

QUICK_PHONE = "[demo]\nanswer_after_seconds = 0.2\n"


def test_the_demo_starts_available_and_its_first_call_shows_a_household_a_conflict_and_the_name(
    qtbot, run_async, tmp_path: Path
) -> None:
    app = make_app(tmp_path, QUICK_PHONE, qtbot=qtbot)
    window, profile = app.window, app.window.profile

    async def scenario() -> None:
        await start_shown(app)
        assert window.agent_state.currentText() == "Available"
        switch = window.toolbar.findChild(QCheckBox, "AutoCall")
        assert switch is not None and switch.isVisible() and switch.text().startswith("Auto-call")
        switch.setChecked(True)
        assert window.auto_call_action.isChecked()
        switch.setChecked(False)

        app.simulator.simulate_call()
        await wait_until(lambda: app.desk.current is not None and app.desk.current.lookup is not None)
        await wait_until(lambda: app.desk.current.lookup.done and profile.shown_patient is not None, what="pop")
        await wait_until(lambda: profile.candidates.count() >= 2, what="the household")
        patient = profile.shown_patient
        assert "conflicting" in profile.badges.text()
        assert app.desk.current.campaign is not None and app.desk.current.campaign.code == "HEART-TV"
        await wait_until(
            lambda: patient.value("given_name") in window.script.text_label.text(), what="greeting by name"
        )
        assert "there." not in window.script.text_label.text()
        await app.stop()

    run_async(scenario(), timeout=90)


def test_search_box_per_call_and_what_a_failed_search_says(qtbot, run_async, tmp_path: Path) -> None:
    app = make_app(tmp_path, QUICK_PHONE, qtbot=qtbot)
    profile = app.window.profile

    async def search(text: str) -> str:
        profile.search.setText(text)
        profile.search.returnPressed.emit()
        await wait_until(lambda: f"“{text}”" in profile.message.text() and "…" not in profile.message.text())
        return profile.message.text()

    async def scenario() -> None:
        await start_shown(app)
        app.simulator.simulate_call(ani="+12025550177")  # a number nobody has
        await wait_until(lambda: "No record for (202) 555-0177" in profile.message.text(), what="no record")
        assert "ask for their name and birth date" in profile.message.text()
        said = await search("Nobody, Nemo 1/2/1950")
        assert said.startswith("No record matches “Nobody, Nemo 1/2/1950” in EHR, CRM")
        assert "check the spelling and the birth date" in said and "new caller" not in said
        said = await search("MRN0000001")
        assert said.startswith("No record with MRN “MRN0000001”") and "search by name and birth date" in said
        app.window.hangup_action.trigger()
        app.simulator.simulate_call(ani="+12025550178")
        await wait_until(lambda: "(202) 555-0178" in profile.message.text(), what="the next call")
        assert profile.search.text() == ""
        await app.stop()

    run_async(scenario(), timeout=90)


def test_a_desk_without_record_systems_says_so(qtbot, run_async, tmp_path: Path) -> None:
    app = make_app(tmp_path, "backends = []\n" + QUICK_PHONE, qtbot=qtbot)
    profile = app.window.profile

    async def scenario() -> None:
        await start_shown(app)
        app.simulator.simulate_call(ani="+16175550123")
        await wait_until(lambda: "No record system is connected" in profile.message.text(), what="the message")
        assert "new caller" not in profile.message.text()
        await app.stop()

    run_async(scenario(), timeout=90)


def _result(*records: SourceRecord) -> LookupResult:
    statuses = tuple(SourceStatus(r.source, SourceState.OK, 10.0, 1) for r in records)
    return LookupResult("c1", "+16175550123", statuses, tuple(merge_records(records)), done=True, records=records)


def test_the_profile_does_not_jump_when_confirm_match_appears(qtbot) -> None:
    panel = ProfilePanel()
    qtbot.addWidget(panel)
    panel.resize(640, 700)
    panel.show()
    ana = {"given_name": "Ana", "family_name": "Silva", "birth_date": "1980-02-03", "phone": "+16175550123"}
    ehr = SourceRecord("EHR", "p1", ana)
    panel.show_lookup(_result(ehr))  # the EHR answered first: one source, nothing to confirm
    qtbot.waitUntil(lambda: panel.name_label.isVisible())
    qtbot.wait(50)  # laid out
    before = panel.tabs.geometry().top()
    assert not panel.confirm_button.isVisible()
    panel.show_lookup(_result(ehr, SourceRecord("CRM", "c9", {**ana, "given_name": "Anna"})))
    assert panel.confirm_button.isVisible()
    qtbot.wait(50)
    assert panel.tabs.geometry().top() == before


def test_the_care_tab_shows_whole_titles_while_there_is_room(qtbot) -> None:
    view = CareView()
    qtbot.addWidget(view)
    view.resize(900, 300)
    view.show()
    title = "Referral to Behavioral Health: anxiety and sleep"
    when = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    view.show_items([CareItem(ItemKind.REFERRAL, title, "EHR", when, "active", "from Dr. Luis Ferreira", "r1")])
    qtbot.wait(20)
    assert view.columnWidth(1) >= view.fontMetrics().horizontalAdvance(title)
    group = view.topLevelItem(1)
    assert group is not None and group.isFirstColumnSpanned()  # "Open referrals (1)" is never cut to "When"'s width


def test_a_waiting_call_shows_the_callers_earlier_wrap_up_when_the_agent_switches_to_it(
    qtbot, run_async, tmp_path: Path
) -> None:
    known, other = single_callers(tmp_path)[:2]
    app = make_app(tmp_path, QUICK_PHONE, qtbot=qtbot)
    window, bar = app.window, app.window.call_bar

    def timeline() -> list[str]:
        care = window.profile.care
        group = next(
            care.topLevelItem(i) for i in range(care.topLevelItemCount()) if "Timeline" in care.topLevelItem(i).text(0)
        )
        return [group.child(i).text(1) for i in range(group.childCount())]

    async def scenario() -> None:
        await start_shown(app)
        first = app.simulator.simulate_call(ani=known.phone_e164)
        await wait_until(lambda: bar.state_label.text() == "On call" and window.profile.shown_patient is not None)
        window.hangup_action.trigger()
        await wait_until(lambda: app.desk.contexts[first].call.state.value == "ended")
        window.wrapup.disposition.setCurrentIndex(window.wrapup.disposition.findData("information_provided"))
        window.wrapup.save_button.click()
        await wait_until(lambda: window.wrapup.feedback.text().startswith("Saved"), what="saved")
        app.simulator.simulate_call(ani=other.phone_e164)
        await wait_until(lambda: bar.state_label.text() == "On call", what="talking to someone else")
        again = app.simulator.simulate_call(ani=known.phone_e164)  # rings while the agent talks
        await wait_until(lambda: app.desk.contexts[again].lookup is not None and app.desk.contexts[again].lookup.done)
        await asyncio.sleep(0.3)  # its history is read from the store after the lookup
        bar.other_calls.activated.emit(1)
        await wait_until(lambda: app.desk.current is app.desk.contexts[again], what="the switch")
        await wait_until(lambda: "Call: Information provided" in timeline(), what="the earlier wrap-up")
        assert "Called before: 1×" in window.profile.badges.text()
        await app.stop()

    run_async(scenario(), timeout=90)
