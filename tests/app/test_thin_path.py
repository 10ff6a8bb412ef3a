"""The whole thin path, driven through real widgets: a simulated call is offered, the caller's record appears in
the profile panel (read from the demo EHR over HTTP and the demo CRM over SQL), the agent saves a disposition,
and the row is in the local SQLite store."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from agentdesk.base.phone import display_phone
from agentdesk.telephony.calls import CallState
from tests.support import demo_people, make_app, start_shown, wait_until

pytestmark = pytest.mark.gui


def test_simulated_call_fills_profile_and_saves_disposition(qtbot, run_async, tmp_path: Path) -> None:
    data = demo_people(tmp_path)
    # Someone both systems know, alone on their line: the profile merges the EHR and the CRM.
    shared = {p.phone_e164 for p in data.people if sum(q.phone_e164 == p.phone_e164 for q in data.people) > 1}
    caller = next(p for p in data.people if p.in_ehr and p.in_crm and p.phone_e164 not in shared)
    app = make_app(tmp_path, qtbot=qtbot)
    window = app.window

    async def scenario() -> None:
        await start_shown(app)
        assert window.store_status.text() == "Local store: ready"
        call_id = app.simulator.simulate_call(ani=caller.phone_e164, dnis="+18005550142")
        await wait_until(
            lambda: window.profile.name_label.text() == f"{caller.given_name} {caller.family_name}",
            what="the caller's name in the profile panel",
        )
        await wait_until(lambda: app.desk.current.lookup.done, what="every source to answer")
        # The call bar shows the ringing call, its number and campaign, before anyone answered.
        assert window.call_bar.caller_label.text() == display_phone(caller.phone_e164)
        assert "Heart health TV spot" in window.call_bar.dialed_label.text()
        assert app.desk.tracker.get(call_id).state is CallState.RINGING
        assert f"born {caller.birth_date}" in window.profile.summary_label.text()
        sources = {window.profile.table.item(r, 2).text() for r in range(window.profile.table.rowCount())}
        assert sources <= {"EHR", "CRM"} and "EHR" in sources
        chips = {name: chip.label.text() for name, chip in window.profile.chips.items()}
        assert chips["EHR"].startswith("EHR: 1 record") and chips["CRM"].startswith("CRM: 1 record")
        assert caller.given_name in window.script.text_label.text()

        app.simulator.answer(call_id)
        await wait_until(lambda: app.desk.tracker.get(call_id).state is CallState.TALKING, what="answer")
        assert window.agent_state.currentText() == "On Call"
        app.simulator.hang_up(call_id)
        await wait_until(lambda: window.agent_state.currentText() == "Wrap-up", what="wrap-up state")

        wrapup = window.wrapup
        # Counting from the hang-up (the panels follow the desk within a frame: refreshes are coalesced).
        await wait_until(lambda: wrapup.timer_label.text().startswith("Wrap-up 0:"), what="the wrap-up timer")
        wrapup.disposition.setCurrentIndex(wrapup.disposition.findData("appointment_booked"))
        assert wrapup.forms["booking"].isChecked()  # a booking disposition opens (and requires) the booking form
        QTest.keyClicks(wrapup.notes, "Booked a cardiology screening for next Tuesday.")
        QTest.mouseClick(wrapup.save_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: wrapup.feedback.text().startswith("Booking.provider"), what="the field's error")
        assert wrapup.forms["booking"].fields["provider"].hasFocus() or not window.isActiveWindow()
        booking = wrapup.forms["booking"].fields
        for name, text in (
            ("provider", "Dr. Ada Quill"),
            ("location", "Heart Center"),
            ("visit_type", "Screening"),
            ("start", (datetime.now() + timedelta(days=5)).strftime("%Y-%m-%d 10:30")),
        ):
            QTest.keyClicks(booking[name], text)
        QTest.mouseClick(wrapup.save_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: wrapup.feedback.text().startswith("Saved"), what="the saved confirmation")
        assert window.agent_state.currentText() == "Available"
        await app.desk.drain()
        await app.stop()

    run_async(scenario())

    with sqlite3.connect(tmp_path / "data" / "agentdesk.sqlite3") as db:
        rows = db.execute(
            "SELECT call_id, disposition_code, outcome, campaign_code, notes, patient_key, answered_at, ended_at"
            " FROM dispositions"
        ).fetchall()
        audits = db.execute("SELECT action, patient_key FROM audit_events").fetchall()
        kinds = [r[0] for r in db.execute("SELECT kind FROM call_events ORDER BY id")]
        bookings = db.execute("SELECT provider, visit_type FROM bookings").fetchall()
    assert len(rows) == 1
    _call_id, code, outcome, campaign, notes, patient_key, answered_at, ended_at = rows[0]
    assert (code, outcome, campaign) == ("appointment_booked", "booking", "HEART-TV")
    assert notes == "Booked a cardiology screening for next Tuesday."
    assert f"EHR:{caller.key.lower()}" in patient_key and "CRM:C-" in patient_key
    assert answered_at and ended_at
    # Every source record the agent saw is audited once, whatever order the sources answered in.
    views = sorted(a for a in audits if a[0] == "profile_view")
    assert views == sorted(("profile_view", ref) for ref in patient_key.split(";"))
    # ...and, before it reached the screen, as records shown; the wrap-up has its own row.
    shown = {ref for action, key in audits if action == "records_shown" for ref in key.split(";")}
    assert set(patient_key.split(";")) <= shown
    assert ("wrap_up", patient_key) in audits
    assert kinds == ["offered", "answered", "ended"]
    assert bookings == [("Dr. Ada Quill", "Screening")]


def test_save_without_outcome_names_the_field_and_keeps_notes(qtbot, run_async, tmp_path: Path) -> None:
    app = make_app(tmp_path, qtbot=qtbot)
    wrapup = app.window.wrapup

    async def scenario() -> None:
        await start_shown(app)
        app.simulator.simulate_call(ani="+12025550155")  # a number nobody in the population has
        await wait_until(lambda: "No record" in app.window.profile.message.text(), what="the no-record message")
        QTest.keyClicks(wrapup.notes, "Caller asked about parking.")
        QTest.mouseClick(wrapup.save_button, Qt.MouseButton.LeftButton)
        assert wrapup.feedback.text().startswith("Disposition:")
        assert wrapup.notes.toPlainText() == "Caller asked about parking."
        assert await app.store.dispositions() == []
        await app.stop()

    run_async(scenario())
