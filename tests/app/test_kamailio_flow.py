"""A real call flow into the running desktop: SIPp places calls with chosen caller numbers into a queue number on
Kamailio, which rings a SIPp agent phone and relays call events over evapi; AgentDesk's JSON stream source (the
'kamailio-evapi' preset) turns them into the pre-answer pop, follows answer and hang-up, and logs the call."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from agentdesk.app import AgentDeskApp
from agentdesk.telephony.calls import CallState
from tests.sip.harness import (
    DEFAULT_QUEUE_NUMBER,
    KamailioInfo,
    find_free_port,
    require_sip_tools,
    run_agent_phone,
    run_kamailio,
    sip_options,
    start_call,
)
from tests.support import make_app, name_of, single_callers, start_shown, wait_until

pytestmark = [pytest.mark.gui, pytest.mark.slow]
RING_MS = 1500


def app_with_evapi(basedir: Path, evapi_port: int) -> AgentDeskApp:
    return make_app(
        basedir,
        f"""
[[call_sources]]
name = "kamailio"
kind = "json_stream"
url = "tcp://127.0.0.1:{evapi_port}"
preset = "kamailio-evapi"
""",
    )


async def start_with_events(app: AgentDeskApp, pbx: KamailioInfo) -> None:
    """Start the desk and wait until Kamailio's evapi delivers events to it."""
    window = app.window
    await start_shown(app)
    await wait_until(
        lambda: "kamailio" in window.links and window.links["kamailio"].text() == "kamailio: up",
        what="the evapi link",
    )
    # evapi drops events sent before it has registered a new client: probe until ours comes back.
    for _ in range(100):
        if app.intake.ignored:
            break
        await asyncio.to_thread(sip_options, pbx.sip_port, probe_token=uuid.uuid4().hex)
        await asyncio.sleep(0.05)
    assert app.intake.ignored["ignored probe"] >= 1, "evapi never delivered a probe to AgentDesk"


def test_sip_calls_pop_the_caller_follow_the_call_and_are_logged(qtbot, run_async, tmp_path: Path) -> None:
    require_sip_tools()
    caller = single_callers(tmp_path)[0]
    abandoning = single_callers(tmp_path)[1]
    agent_port = find_free_port("udp")
    with (
        run_kamailio(tmp_path, agent_port=agent_port) as pbx,
        run_agent_phone(agent_port, tmp_path, answer_delay_ms=RING_MS),
    ):
        app = app_with_evapi(tmp_path, pbx.evapi_port)
        qtbot.addWidget(app.window)
        window = app.window

        async def scenario() -> None:
            await start_with_events(app, pbx)

            national = caller.phone_e164[2:]  # the phone sends what the caller's carrier sends: 10 digits
            call = await asyncio.to_thread(
                start_call, pbx, ani=national, dnis=DEFAULT_QUEUE_NUMBER, hold_ms=800, workdir=tmp_path
            )
            await wait_until(lambda: window.profile.name_label.text() == name_of(caller), timeout=15, what="the pop")
            # The profile is up while the agent phone still rings.
            assert window.call_bar.state_label.text() == "Ringing"
            assert "Heart health TV spot" in window.call_bar.dialed_label.text()
            await wait_until(lambda: window.call_bar.state_label.text() == "On call", timeout=15, what="answer")
            await wait_until(lambda: window.call_bar.state_label.text() == "Ended: hung up", timeout=15, what="BYE")
            await asyncio.to_thread(call.wait, 20)
            sip_call_id = app.desk.current.call.call_id
            assert sip_call_id == call.call_id

            gone = await asyncio.to_thread(
                start_call,
                pbx,
                ani=abandoning.phone_e164,
                dnis=DEFAULT_QUEUE_NUMBER,
                hold_ms=300,
                abandon_after_ms=300,
                workdir=tmp_path,
            )
            await asyncio.to_thread(gone.wait, 20)
            await wait_until(
                lambda: (
                    (app.desk.tracker.get(gone.call_id) or app.desk.tracker.get("?")) is not None
                    and app.desk.tracker.get(gone.call_id).state is CallState.ENDED
                ),
                timeout=15,
                what="the abandoned call",
            )
            assert app.desk.tracker.get(gone.call_id).end_reason == "abandoned"
            await app.desk.drain()
            rows = list(reversed(await app.store.call_events()))
            assert [r["kind"] for r in rows if r["call_id"] == sip_call_id] == ["offered", "answered", "ended"]
            assert [r["kind"] for r in rows if r["call_id"] == gone.call_id] == ["offered", "ended"]
            assert {r["campaign_code"] for r in rows} == {"HEART-TV"}
            assert not app.intake.rejected
            await app.stop()

        run_async(scenario(), timeout=90)


def test_odd_sip_caller_ids_pop_or_are_recorded_as_unknown_callers(qtbot, run_async, tmp_path: Path) -> None:
    """Issue 9 through the real SIP path: a percent-escaped From user (as phones write '+1 (617) 555-0142' in a
    URI) finds the caller; an 80-digit From user, which made every event of the call rejected, is recorded and
    shown as an unknown caller."""
    require_sip_tools()
    caller = single_callers(tmp_path)[2]
    digits = caller.phone_e164[2:]
    escaped = f"+1%20({digits[:3]})%20{digits[3:6]}-{digits[6:]}"
    agent_port = find_free_port("udp")
    with (
        run_kamailio(tmp_path, agent_port=agent_port) as pbx,
        run_agent_phone(agent_port, tmp_path, answer_delay_ms=RING_MS),
    ):
        app = app_with_evapi(tmp_path, pbx.evapi_port)
        qtbot.addWidget(app.window)
        window = app.window

        async def scenario() -> None:
            await start_with_events(app, pbx)
            found = await asyncio.to_thread(
                start_call, pbx, ani=escaped, dnis=DEFAULT_QUEUE_NUMBER, hold_ms=300, workdir=tmp_path
            )
            await wait_until(lambda: window.profile.name_label.text() == name_of(caller), timeout=15, what="the pop")
            await asyncio.to_thread(found.wait, 20)
            await wait_until(lambda: app.desk.tracker.get(found.call_id).state is CallState.ENDED, timeout=15)
            app.desk.contexts[found.call_id].wrapped_up = True  # done with it: the next call takes the panels

            long = await asyncio.to_thread(
                start_call, pbx, ani="6" * 80, dnis=DEFAULT_QUEUE_NUMBER, hold_ms=300, workdir=tmp_path
            )
            await wait_until(
                lambda: window.call_bar.caller_label.text() == "Unknown caller (caller id too long)",
                timeout=15,
                what="the unknown caller",
            )
            await asyncio.to_thread(long.wait, 20)
            await wait_until(lambda: app.desk.tracker.get(long.call_id).state is CallState.ENDED, timeout=15)
            await app.desk.drain()
            rows = list(reversed(await app.store.call_events()))
            for call in (found, long):
                assert [r["kind"] for r in rows if r["call_id"] == call.call_id] == ["offered", "answered", "ended"]
            assert not app.intake.rejected
            await app.stop()

        run_async(scenario(), timeout=90)
