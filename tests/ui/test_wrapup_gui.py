"""The wrap-up panel, driven from the keyboard: a booking and a referral saved through the forms reach the central
store; a bad value is shown at its field; drafts come back; a mandatory wrap-up holds the next call back."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from agentdesk.config.schema import DEFAULT_DISPOSITIONS
from agentdesk.store.outcomes import WrapUpForm
from agentdesk.telephony.calls import CallState
from agentdesk.ui.wrapup_panel import WrapUpPanel
from tests.support import make_app, start_shown, wait_until

pytestmark = pytest.mark.gui
SOON = (datetime.now() + timedelta(days=4)).strftime("%Y-%m-%d 09:15")


def type_into(widget: object, text: str) -> None:
    widget.setFocus()  # type: ignore[attr-defined]
    QTest.keyClicks(widget, text)  # type: ignore[arg-type]


def test_a_booking_and_a_referral_saved_through_the_forms_reach_the_central_store(
    qtbot, run_async, central_url: str, tmp_path: Path
) -> None:
    app = make_app(tmp_path, f'[store]\ncentral_url = "{central_url}"\n', qtbot=qtbot)
    window, wrapup = app.window, app.window.wrapup

    async def scenario() -> None:
        await start_shown(app)
        call_id = app.simulator.simulate_call()
        await wait_until(lambda: app.desk.current is not None and app.desk.current.call.call_id == call_id)
        app.simulator.answer(call_id)
        app.simulator.hang_up(call_id)
        await wait_until(lambda: app.desk.tracker.get(call_id).state is CallState.ENDED, what="hang-up")
        # The panels follow within a frame (refreshes are coalesced).
        await wait_until(lambda: window.call_bar.state_label.text().startswith("Ended"), what="the panels")
        # Keyboard only: Ctrl+D to the disposition, arrow keys to choose it.
        window.activateWindow()
        window.focus_wrapup_action.trigger()
        assert QApplication.focusWidget() is wrapup.disposition or not window.isActiveWindow()
        while wrapup.disposition.currentData() != "appointment_booked":
            QTest.keyClick(wrapup.disposition, Qt.Key.Key_Down)
        booking, referral = wrapup.forms["booking"], wrapup.forms["referral"]
        assert booking.isChecked() and "(required)" in booking.title()
        type_into(booking.fields["provider"], "Dr. Ada Quill")
        type_into(booking.fields["location"], "Heart Center")
        type_into(booking.fields["visit_type"], "Consult")
        type_into(booking.fields["start"], "next tuesday")  # not a date: refused at the field
        referral.setFocus()
        QTest.keyClick(referral, Qt.Key.Key_Space)  # open the referral form from the keyboard
        assert referral.isChecked()
        type_into(referral.fields["target"], "Cardiology")
        type_into(referral.fields["reason"], "Chest pain on exertion")
        QTest.keyClick(referral.fields["urgency"], Qt.Key.Key_Down)  # routine -> urgent
        window.save_action.trigger()  # Ctrl+S
        await wait_until(lambda: wrapup.feedback.text().startswith("Booking.start"), what="the field's error")
        assert "not a date and time" in wrapup.feedback.text()
        assert "border" in booking.fields["start"].styleSheet()
        window.grab().save(str(tmp_path / "wrapup-error.png"))
        booking.fields["start"].clear()
        type_into(booking.fields["start"], SOON)
        window.save_action.trigger()
        await wait_until(lambda: wrapup.feedback.text().startswith("Saved"), what="saved")
        await app.desk.drain()
        await app.sync.sync_once()
        await app.stop()

    run_async(scenario())
    engine = sa.create_engine(central_url)
    with engine.connect() as connection:
        bookings = connection.execute(sa.text("SELECT provider, visit_type, new_patient FROM bookings")).all()
        referrals = connection.execute(sa.text("SELECT target, urgency, status FROM referrals")).all()
        linked = connection.execute(
            sa.text("SELECT count(*) FROM dispositions d JOIN bookings b ON b.disposition_id = d.id")
        ).scalar_one()
    engine.dispose()
    assert bookings == [("Dr. Ada Quill", "Consult", False)]
    assert referrals == [("Cardiology", "urgent", "requested")]
    assert linked == 1


def test_the_panel_renders_its_forms_and_reloads_a_draft(qtbot, tmp_path: Path) -> None:
    panel = WrapUpPanel()
    qtbot.addWidget(panel)
    panel.resize(460, 900)
    draft = WrapUpForm(
        "referral_made",
        "Asked for a morning slot.",
        {
            "referral": {"target_kind": "provider", "target": "Dr. Ben Ode", "reason": "Follow-up", "urgency": "stat"},
            "callback": {"when": SOON, "number": "+16175550142", "reason": "Confirm the referral"},
        },
    )
    panel.set_call("c-1", list(DEFAULT_DISPOSITIONS), draft=draft)
    panel.set_ended(datetime.now().astimezone() - timedelta(seconds=75), limit_seconds=120)
    assert panel.form().code == "referral_made"
    assert panel.form().details["referral"]["urgency"] == "stat"
    assert panel.form().details["callback"]["number"] == "+16175550142"
    assert "booking" not in panel.form().details
    assert panel.timer_label.text() == "Wrap-up 1:15 of 2:00"
    panel.show_error("Callback.when: is in the past.", "callback.when")
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.wait(50)  # pending layout requests
    panel.grab().save(str(tmp_path / "wrapup-panel.png"))
    drafts: list[WrapUpForm] = []
    panel.draft_changed.connect(drafts.append)
    type_into(panel.notes, " Prefers mornings.")
    qtbot.waitUntil(lambda: bool(drafts), timeout=3000)  # debounced: one draft after the typing pauses
    assert len(drafts) == 1 and drafts[0].notes.endswith("Prefers mornings.")


def test_a_mandatory_wrapup_holds_the_next_call_until_saved(qtbot, run_async, tmp_path: Path) -> None:
    app = make_app(tmp_path, "[ui]\nwrapup_required = true\n", qtbot=qtbot)

    async def scenario() -> None:
        await start_shown(app)
        first = app.simulator.simulate_call()
        await wait_until(lambda: app.desk.current is not None and app.desk.current.call.call_id == first)
        app.simulator.answer(first)
        app.simulator.hang_up(first)
        await wait_until(lambda: app.desk.tracker.get(first).state is CallState.ENDED, what="hang-up")
        second = app.simulator.simulate_call()
        await wait_until(lambda: app.desk.tracker.get(second) is not None, what="the second call")
        await app.desk.drain()
        assert app.desk.current.call.call_id == first  # the ringing call does not take the view
        app.window.wrapup.disposition.setCurrentIndex(app.window.wrapup.disposition.findData("information_provided"))
        app.window.save_action.trigger()
        await wait_until(lambda: app.desk.current.call.call_id == second, what="the next call after the save")
        await app.stop()

    run_async(scenario())
