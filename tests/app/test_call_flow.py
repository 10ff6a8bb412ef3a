"""Call events from the wire to the panel, in the running app: webhook, `agentdesk pop`, a second ringing call,
ring-all, ring timeout and transfers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentdesk.app import AgentDeskApp
from agentdesk.cli import main
from agentdesk.config.credentials import get_secret
from agentdesk.telephony.calls import CallState
from agentdesk.telephony.events import CallEvent, CallEventKind
from tests.support import make_app, name_of, single_callers, start_shown, wait_until

pytestmark = pytest.mark.gui


async def post(app: AgentDeskApp, **event: Any) -> httpx.Response:
    token = get_secret("webhook-token")
    async with httpx.AsyncClient() as client:
        return await client.post(
            f"http://127.0.0.1:{app.webhook.port}/v1/call-events",
            json=event,
            headers={"Authorization": f"Bearer {token}"},
        )


def test_webhook_event_pops_the_profile_before_answer(qtbot, run_async, tmp_path: Path) -> None:
    caller = single_callers(tmp_path)[0]
    app = make_app(tmp_path, qtbot=qtbot)
    window = app.window

    async def scenario() -> None:
        await start_shown(app)
        response = await post(app, event="offered", call_id="gen-1", ani=caller.phone_e164[2:], dnis="8005550142")
        assert response.status_code == 202
        await wait_until(lambda: window.profile.name_label.text() == name_of(caller), what="the pre-answer pop")
        assert window.call_bar.state_label.text() == "Ringing"
        await wait_until(lambda: any(name_of(caller) in body for _t, body in app.notifier.shown), what="tray text")
        title, body = app.notifier.shown[-1]
        assert title.startswith("Incoming call: (") and "Heart health TV spot" in body
        await post(app, event="answered", call_id="gen-1")
        await wait_until(lambda: window.call_bar.state_label.text() == "On call", what="answered")
        await post(app, event="ended", call_id="gen-1")
        await wait_until(lambda: window.call_bar.state_label.text() == "Ended: hung up", what="ended")
        assert "Call events: 3" in window.events_status.text()
        await app.desk.drain()
        kinds = [row["kind"] for row in reversed(await app.store.call_events())]
        assert kinds == ["offered", "answered", "ended"]
        await app.stop()

    run_async(scenario())


def test_agentdesk_pop_and_link_hand_over_to_the_running_instance(qtbot, run_async, tmp_path: Path) -> None:
    first, second = single_callers(tmp_path)[:2]
    app = make_app(tmp_path, qtbot=qtbot)
    window = app.window

    async def scenario() -> None:
        await start_shown(app)
        code = await asyncio.to_thread(
            main, ["--demo", "--basedir", str(tmp_path), "pop", "--ani", first.phone_e164, "--dnis", "8005550143"]
        )
        assert code == 0
        await wait_until(lambda: window.profile.name_label.text() == name_of(first), what="pop from the CLI")
        assert "New patient line" in window.call_bar.dialed_label.text()
        first_call = app.desk.current.call.call_id
        app.intake.accept(CallEvent(CallEventKind.ENDED, first_call, source="test"))
        link = f"agentdesk:pop?ani={second.phone_e164.replace('+', '%2B')}&campaign=REFERRAL-LINE"
        code = await asyncio.to_thread(main, ["--demo", "--basedir", str(tmp_path), link])
        assert code == 0
        await wait_until(lambda: window.profile.name_label.text() == name_of(second), what="pop from a link")
        assert "Physician referral line" in window.call_bar.dialed_label.text()
        await app.stop()

    run_async(scenario())


def test_second_ringing_call_ring_all_timeout_and_transfer(qtbot, run_async, tmp_path: Path) -> None:
    a, b, c, d = single_callers(tmp_path)[:4]
    app = make_app(tmp_path, qtbot=qtbot)
    window = app.window

    async def scenario() -> None:
        await start_shown(app)
        await post(app, event="offered", call_id="A", ani=a.phone_e164)
        await post(app, event="answered", call_id="A")
        await wait_until(lambda: window.profile.name_label.text() == name_of(a), what="call A")
        # A second call rings while the agent talks: listed, not shown over the current one.
        await post(app, event="offered", call_id="B", ani=b.phone_e164)
        await wait_until(lambda: window.call_bar.other_calls.isVisibleTo(window), what="the other-calls list")
        assert window.profile.name_label.text() == name_of(a)
        assert "Ringing" in window.call_bar.other_calls.itemText(1)
        window.call_bar.other_calls.activated.emit(1)  # the agent switches to it
        await wait_until(lambda: window.profile.name_label.text() == name_of(b), what="switch to call B")

        # Ring-all: another agent answers B; it leaves this desktop.
        await post(app, event="answered", call_id="B", agent="someone-else")
        await wait_until(lambda: app.desk.tracker.get("B").end_reason == "answered elsewhere", what="ring-all")
        await wait_until(lambda: app.desk.current.call.call_id == "A", what="back to the live call")

        # A call nobody answers times out.
        app.desk.tracker.ring_timeout = timedelta(seconds=0.3)
        await post(app, event="offered", call_id="C", ani=c.phone_e164)
        await wait_until(lambda: app.desk.tracker.get("C").state is CallState.ENDED, timeout=5, what="ring timeout")
        assert app.desk.tracker.get("C").end_reason == "ring timeout"

        # A transfer: a new call id for the same caller keeps what was found, without a second lookup.
        app.desk.tracker.ring_timeout = timedelta(seconds=90)
        await post(app, event="offered", call_id="D1", ani=d.phone_e164)
        await wait_until(lambda: app.desk.contexts["D1"].lookup and app.desk.contexts["D1"].lookup.done, what="D1")
        await post(app, event="transferred", call_id="D1")
        await post(app, event="offered", call_id="D2", ani=d.phone_e164)
        await wait_until(lambda: "D2" in app.desk.contexts, what="D2")
        moved = app.desk.contexts["D2"]
        assert moved.transferred_from == "D1" and moved.lookup.patients[0].display_name == name_of(d)
        await app.stop()

    run_async(scenario())
