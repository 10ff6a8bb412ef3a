"""Asterisk AMI from the wire to the panel: a protocol-faithful AMI server pushes a queue call to this agent's
interface; the running desktop pops the caller, follows the answer and the hang-up, and logs the call."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdesk.app import AgentDeskApp
from agentdesk.config.credentials import set_secret
from tests.fake_ami import FakeAmi, agent_called, agent_connect, caller_channel, hangup, member_channel
from tests.support import make_app, name_of, single_callers, start_shown, wait_until

pytestmark = pytest.mark.gui
ME = "PJSIP/1001"


def app_with_ami(basedir: Path, port: int) -> AgentDeskApp:
    return make_app(
        basedir,
        f"""
[[call_sources]]
name = "asterisk"
kind = "ami"
host = "127.0.0.1"
port = {port}
username = "agentdesk"
credential = "ami-secret"
agent_interface = "{ME}"
""",
    )


def test_ami_queue_call_pops_and_follows_the_call(qtbot, run_async, tmp_path: Path) -> None:
    caller = single_callers(tmp_path)[0]
    set_secret("ami-secret", "not-a-real-secret-0142")

    async def scenario() -> None:
        async with FakeAmi() as ami:
            app = app_with_ami(tmp_path, ami.port)
            qtbot.addWidget(app.window)
            window = app.window
            await start_shown(app)
            await ami.wait_logged_in()
            await wait_until(
                lambda: "asterisk" in window.links and window.links["asterisk"].text() == "asterisk: up",
                what="the AMI link",
            )
            linkedid = "1764230400.777"
            inbound = caller_channel(linkedid, caller.phone_e164[2:], "8005550142")
            my_leg = member_channel(ME, 7, linkedid)
            await ami.push(agent_called(inbound, my_leg, ME))
            await wait_until(lambda: window.profile.name_label.text() == name_of(caller), what="the pop")
            assert window.call_bar.state_label.text() == "Ringing"
            assert "Heart health TV spot" in window.call_bar.dialed_label.text()
            await ami.push(agent_connect(inbound, my_leg, ME))
            await wait_until(lambda: window.call_bar.state_label.text() == "On call", what="the answer")
            assert window.agent_state.currentText() == "On Call"
            await ami.push(hangup(inbound))
            await wait_until(lambda: window.call_bar.state_label.text() == "Ended: hung up", what="the hang-up")
            await app.desk.drain()
            rows = [r for r in reversed(await app.store.call_events()) if r["call_id"] == linkedid]
            assert [r["kind"] for r in rows] == ["offered", "answered", "ended"]
            assert {r["source"] for r in rows} == {"asterisk"}
            await app.stop()

    run_async(scenario(), timeout=60)
