"""Issue 9 in the running app, through the real webhook on 127.0.0.1: odd but real caller ids never lose a call,
text that cannot be stored is refused naming the field, and a phone system whose clock is off is shown as such
while its calls are timed on the desk's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentdesk.config.credentials import get_secret
from agentdesk.telephony.calls import CallState
from tests.support import make_app, start_shown, wait_until

pytestmark = pytest.mark.gui


async def send(port: int, body: dict[str, Any] | bytes) -> httpx.Response:
    headers = {"Authorization": f"Bearer {get_secret('webhook-token')}", "Content-Type": "application/json"}
    async with httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{port}/v1/call-events"
        if isinstance(body, bytes):
            return await client.post(url, content=body, headers=headers)
        return await client.post(url, json=body, headers=headers)


ODD_CALLERS = {
    "long": ("6" * 80, "Unknown caller (caller id too long)"),
    "name": ("alice.smith", "Unknown caller (caller id is not a number)"),
    "anonymous": ("anonymous", "Anonymous caller"),
    "restricted": ("Restricted", "Restricted number"),
    "none": ("", "Unknown caller"),
}


def test_odd_caller_ids_are_recorded_and_shown_as_unknown_callers(qtbot, run_async, tmp_path: Path) -> None:
    app = make_app(tmp_path, qtbot=qtbot)
    window = app.window

    async def scenario() -> None:
        await start_shown(app)
        port = app.webhook.port
        for call_id, (ani, label) in ODD_CALLERS.items():
            assert (await send(port, {"event": "offered", "call_id": call_id, "ani": ani})).status_code == 202
            await wait_until(lambda label=label: window.call_bar.caller_label.text() == label, what=label)
            assert window.call_bar.state_label.text() == "Ringing"
            for kind in ("answered", "ended"):
                assert (await send(port, {"event": kind, "call_id": call_id})).status_code == 202
            await wait_until(lambda call_id=call_id: app.desk.tracker.get(call_id).state is CallState.ENDED)
            app.desk.contexts[call_id].wrapped_up = True  # the agent is done with it: the next call takes over
        await app.desk.drain()
        rows = list(reversed(await app.store.call_events(limit=100)))
        for call_id in ODD_CALLERS:
            assert [r["kind"] for r in rows if r["call_id"] == call_id] == ["offered", "answered", "ended"]
        assert not app.intake.rejected
        assert app.desk.tracker.get("long").ani_note == "too long"
        # No number, no lookup: none of them was sent to the record systems as if it were one.
        assert all(app.desk.contexts[call_id].lookup is None for call_id in ODD_CALLERS)
        await app.stop()

    run_async(scenario())


def test_unstorable_text_is_refused_naming_the_field_and_the_desk_stays_up(qtbot, run_async, tmp_path: Path) -> None:
    app = make_app(tmp_path, qtbot=qtbot)

    async def scenario() -> None:
        await start_shown(app)
        port = app.webhook.port
        lone = await send(port, b'{"event": "offered", "call_id": "cti-\\ud800", "ani": "6175550123"}')
        assert lone.status_code == 400 and "'call_id'" in lone.json()["error"]
        in_ani = await send(port, b'{"event": "offered", "call_id": "cti-2", "ani": "617\\udfff5550123"}')
        assert in_ani.status_code == 400 and "'ani'" in in_ani.json()["error"]
        assert (await send(port, {"event": "offered", "call_id": "cti-3", "ani": "6175550124"})).status_code == 202
        await app.desk.drain()
        rows = await app.store.call_events()
        assert [r["call_id"] for r in rows] == ["cti-3"]
        assert app.window.store_status.text() == "Local store: ready"  # no write failed
        await app.stop()

    run_async(scenario())


def test_a_phone_system_clock_behind_is_shown_and_its_calls_are_not_cut(qtbot, run_async, tmp_path: Path) -> None:
    app = make_app(tmp_path, qtbot=qtbot)
    window = app.window

    async def scenario() -> None:
        await start_shown(app)
        port = app.webhook.port

        def stamp() -> str:
            return (datetime.now(UTC) - timedelta(seconds=120)).isoformat()

        offered = {"event": "offered", "call_id": "late-1", "ani": "6175550123", "timestamp": stamp()}
        assert (await send(port, offered)).status_code == 202
        await wait_until(lambda: window.clock_status.isVisible(), what="the clock skew notice")
        assert window.clock_status.text() == "webhook clock 2 min behind"
        # The ring-timeout sweep runs every second: two sweeps later the call still rings.
        await wait_until(lambda: window.call_bar.timer_label.text() == "ringing 00:02", timeout=5, what="2 s")
        assert app.desk.tracker.get("late-1").state is CallState.RINGING
        assert (await send(port, {**offered, "event": "answered", "timestamp": stamp()})).status_code == 202
        assert (await send(port, {**offered, "event": "ended", "timestamp": stamp()})).status_code == 202
        await wait_until(lambda: window.call_bar.state_label.text() == "Ended: hung up", what="the real end")
        await app.desk.drain()
        kinds = [r["kind"] for r in reversed(await app.store.call_events())]
        assert kinds == ["offered", "answered", "ended"]
        await app.stop()

    run_async(scenario())
