"""The script panel driven from the keyboard through a whole demo call: the shipped heart-screening script greets
the caller by name, the answers steer it, the end step preselects the disposition in the wrap-up, and the run is
stored with the call (steps, answers, the off-script note)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from agentdesk.campaigns.model import StepKind
from agentdesk.telephony.calls import CallState
from tests.support import demo_people, make_app, start_shown, wait_until

pytestmark = pytest.mark.gui
SOON = (datetime.now() + timedelta(days=4)).strftime("%Y-%m-%d 09:15")


def press(key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """A key press where the keyboard focus is, as the agent's keyboard would send it."""
    target = QApplication.focusWidget()
    assert isinstance(target, QWidget), "nothing has the keyboard focus"
    QTest.keyClick(target, key, modifier)


def test_a_call_through_the_heart_script_by_keyboard(qtbot, run_async, tmp_path: Path) -> None:
    data = demo_people(tmp_path)
    shared = {p.phone_e164 for p in data.people if sum(q.phone_e164 == p.phone_e164 for q in data.people) > 1}
    caller = next(p for p in data.people if p.in_ehr and p.phone_e164 not in shared)
    app = make_app(tmp_path, qtbot=qtbot)
    window, panel = app.window, app.window.script

    async def scenario() -> None:
        await start_shown(app, activate=True)
        assert window.campaigns_status.text() == "Campaigns: 5"
        call_id = app.simulator.simulate_call(ani=caller.phone_e164, dnis="+18005550142")
        await wait_until(lambda: app.desk.current and app.desk.current.lookup and app.desk.current.lookup.done)
        await wait_until(lambda: f", {caller.given_name}." in panel.text_label.text(), what="the greeting by name")
        assert panel.campaign_label.text() == "Heart health TV spot · cardiology"
        assert panel.reason_label.text() == "Matched by dialed number (800) 555-0142"
        app.simulator.answer(call_id)
        await wait_until(lambda: app.desk.tracker.get(call_id).state is CallState.TALKING, what="answer")

        window.focus_script_action.trigger()  # Ctrl+J: the keyboard goes to the script
        press(Qt.Key.Key_Return)  # greeting said
        assert panel.run is not None and panel.run.step.id == "confirm_identity"
        assert f"{caller.given_name} {caller.family_name}" in panel.text_label.text()
        assert caller.birth_date in panel.note_label.text()  # for the agent's eyes only
        press(Qt.Key.Key_Y)  # identity confirmed
        press(Qt.Key.Key_N)  # no chest pain
        press(Qt.Key.Key_1)  # saw the TV spot
        panel.note_edit.setFocus()
        QTest.keyClicks(panel.note_edit, "Asked whether the screening needs a fasting blood test")
        press(Qt.Key.Key_Return)
        window.focus_script_action.trigger()
        press(Qt.Key.Key_1)  # one or more risk factors
        path = ["greet", "who", "confirm_identity", "emergency_check", "reason", "risk_factors", "fit"]
        assert panel.run.path == [*path, panel.run.step.id]
        if panel.run.step.id == "referral_on_file":  # the demo EHR has an open referral for this caller
            press(Qt.Key.Key_Return)
            expected, end = "referral_made", "end_referral"
        else:
            assert panel.run.step.id == "offer_screening"
            press(Qt.Key.Key_Y)
            expected, end = "appointment_booked", "end_booked"
        assert panel.run.step.kind is StepKind.ACTION and not panel.action_button.isHidden()
        wrapup = window.wrapup
        press(Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)  # the step's action: its wrap-up form opens
        kind = "booking" if expected == "appointment_booked" else "referral"
        form = wrapup.forms[kind]
        assert form.isChecked() and QApplication.focusWidget() is next(iter(form.fields.values()))
        details = (
            {"provider": "Dr. Ada Quill", "location": "Heart Center", "visit_type": "Screening", "start": SOON}
            if kind == "booking"
            else {"target": "Cardiology", "reason": "Screening after the TV spot"}
        )
        for name, value in details.items():
            form.fields[name].setFocus()
            QTest.keyClicks(form.fields[name], value)
        window.focus_script_action.trigger()  # back to the script
        press(Qt.Key.Key_Return)  # the action is done: on to the end
        assert panel.run.step.id == end
        assert panel.error_label.text().startswith("Suggested outcome:")
        assert wrapup.disposition.currentData() == expected  # preselected; the agent may still change it
        press(Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)  # back one step...
        assert panel.run.step.kind is StepKind.ACTION
        press(Qt.Key.Key_Return)  # ...and on again
        assert panel.run.step.id == end

        app.simulator.hang_up(call_id)
        await wait_until(lambda: window.agent_state.currentText() == "Wrap-up", what="wrap-up state")
        QTest.mouseClick(wrapup.save_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: wrapup.feedback.text().startswith("Saved"), what="the saved confirmation")
        await app.desk.drain()
        await app.stop()
        stored.update(call_id=call_id, expected=expected, end=end, path=path)

    stored: dict[str, object] = {}
    run_async(scenario())

    with sqlite3.connect(tmp_path / "data" / "agentdesk.sqlite3") as db:
        (disposition,) = db.execute("SELECT disposition_code FROM dispositions").fetchall()
        runs = db.execute(
            "SELECT id, call_id, campaign_code, script_id, script_version, finished, last_step, path,"
            " suggested_disposition, disposition_code, outcome FROM script_runs"
        ).fetchall()
        (run,) = runs
        events = db.execute(
            "SELECT kind, step_id, value FROM script_run_events WHERE run_id = ? ORDER BY seq", (run[0],)
        ).fetchall()
    assert disposition == (stored["expected"],)
    _id, call_id, campaign, script_id, version, finished, last_step, path, suggested, code, _outcome = run
    assert (call_id, campaign, script_id, version) == (stored["call_id"], "HEART-TV", "heart-screening", 1)
    assert (finished, last_step, suggested, code) == (1, stored["end"], stored["expected"], stored["expected"])
    assert path.split()[:7] == stored["path"]
    answers = [(step, value) for kind, step, value in events if kind == "answered"]
    assert answers[:4] == [
        ("confirm_identity", "yes"),
        ("emergency_check", "no"),
        ("reason", "Saw the TV spot"),
        ("risk_factors", "One or more"),
    ]
    assert ("note", "risk_factors", "Asked whether the screening needs a fasting blood test") in events
    assert ("back", stored["end"], "") in events
    assert caller.family_name not in " ".join(str(v) for e in events for v in e)  # no profile data copied in


def test_a_broken_campaign_file_is_shown_unavailable_and_its_calls_get_the_default(
    qtbot, run_async, tmp_path: Path
) -> None:
    import shutil

    from agentdesk.campaigns.loader import SHIPPED_FOLDER

    folder = tmp_path / "campaigns"
    shutil.copytree(SHIPPED_FOLDER, folder)
    heart = folder / "heart-screening.toml"
    heart.write_text(heart.read_text(encoding="utf-8").replace('next = "who"', 'next = "whom"'), encoding="utf-8")
    app = make_app(tmp_path, f"[campaigns]\nfolder = '{folder.as_posix()}'\n", qtbot=qtbot)
    window, panel = app.window, app.window.script

    async def scenario() -> None:
        await start_shown(app)
        assert window.campaigns_status.text() == "Campaigns: 4 · 1 unavailable"
        assert "heart-screening.toml" in window.campaigns_status.toolTip()
        assert "unknown step 'whom'" in window.campaigns_status.toolTip()
        app.simulator.simulate_call(ani="+12025550155", dnis="+18005550142")
        await wait_until(lambda: panel.run is not None, what="a script run")
        assert panel.campaign_label.text() == "General inbound"
        assert panel.reason_label.text() == "No campaign matched: default campaign"
        assert "[first name]" not in panel.text_label.text()  # an unknown caller: the greeting leaves the name out
        await app.stop()

    run_async(scenario())
