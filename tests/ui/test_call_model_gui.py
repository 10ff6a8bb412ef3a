"""The phone's call model in the window (the demo): a second caller rings while the agent talks; answering it holds
the first; an ended call stays in the call list as "Needs wrap-up" until saved or closed without a disposition."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agentdesk.telephony.calls import CallState
from tests.support import make_app, single_callers, start_shown, wait_until

QUICK_PHONE = "[demo]\nanswer_after_seconds = 0.2\n"


def listed(combo) -> list[str]:  # type: ignore[no-untyped-def]
    return [combo.itemText(i) for i in range(1, combo.count())] if combo.isVisible() else []


def test_a_second_call_rings_until_taken_and_every_ended_call_waits_for_its_wrap_up(
    qtbot, run_async, tmp_path: Path
) -> None:
    first_caller, second_caller = single_callers(tmp_path)[:2]
    app = make_app(tmp_path, QUICK_PHONE, qtbot=qtbot)
    window, bar, wrapup = app.window, app.window.call_bar, app.window.wrapup

    def choose(prefix: str) -> None:
        index = next(i for i in range(bar.other_calls.count()) if bar.other_calls.itemText(i).startswith(prefix))
        bar.other_calls.activated.emit(index)

    async def scenario() -> None:
        await start_shown(app)
        first = app.simulator.simulate_call(ani=first_caller.phone_e164)
        await wait_until(lambda: bar.state_label.text() == "On call", what="the demo phone answering")
        second = app.simulator.simulate_call(ani=second_caller.phone_e164)
        await wait_until(lambda: any(t.startswith("Ringing") for t in listed(bar.other_calls)), what="the 2nd call")
        await asyncio.sleep(0.5)  # past the demo phone's ring: the agent is talking, so it keeps ringing
        assert app.desk.contexts[second].call.state is CallState.RINGING
        assert bar.state_label.text() == "On call" and window.hold_action.isEnabled()

        choose("Ringing")
        await wait_until(lambda: window.answer_action.isEnabled(), what="the ringing call on screen")
        assert window.answer_action.text() == "Answer" and not window.hold_action.isEnabled()
        window.answer_action.trigger()
        await wait_until(lambda: any(t.startswith("On hold") for t in listed(bar.other_calls)), what="the hold")
        assert bar.state_label.text() == "On call"

        window.hangup_action.trigger()
        await wait_until(lambda: bar.state_label.text() == "Ended: hung up", what="the hang-up")
        assert not window.hangup_action.isEnabled() and wrapup.discard_button.isVisible()
        assert window.agent_state.currentText() == "On Call"  # the first caller still holds

        choose("On hold")
        await wait_until(lambda: window.answer_action.text() == "Resume", what="the held call on screen")
        window.answer_action.trigger()
        await wait_until(lambda: bar.state_label.text() == "On call", what="the resumed call")
        assert any(t.startswith("Needs wrap-up") for t in listed(bar.other_calls))  # never dropped
        window.hangup_action.trigger()
        await wait_until(lambda: window.agent_state.currentText() == "Wrap-up", what="wrap-up after the last call")
        assert bar.other_calls.itemText(0) == "1 wrap-up due…"

        wrapup.discard_button.click()  # the first call: closed without a disposition, with a reason
        assert wrapup.discard_row.isVisible()
        wrapup.discard_reason.setText("caller rang back later")
        wrapup.discard_confirm.click()
        await wait_until(lambda: app.desk.current is app.desk.contexts[second], what="the next wrap-up shown")
        await wait_until(lambda: not bar.other_calls.isVisible(), what="the list emptied")
        wrapup.disposition.setCurrentIndex(wrapup.disposition.findData("information_provided"))
        wrapup.save_button.click()
        await wait_until(lambda: wrapup.feedback.text().startswith("Saved"), what=f"saved ({wrapup.feedback.text()})")
        await wait_until(lambda: window.agent_state.currentText() == "Available", what="available after both")
        await app.desk.drain()
        discards = [a for a in await app.store.audit_events(limit=100) if a["action"] == "wrap_up_discard"]
        assert [(a["call_id"], a["detail"]) for a in discards] == [(first, "caller rang back later")]
        await app.stop()

    run_async(scenario(), timeout=90)
