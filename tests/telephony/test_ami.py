"""The AMI source against a protocol-faithful fake Asterisk 18 (tests/fake_ami.py) on 127.0.0.1.

Events go through the real CallIntake and, where the outcome on the desk matters, a real CallTracker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from agentdesk.telephony.calls import CallState, CallTracker
from agentdesk.telephony.events import CallEvent, CallEventKind
from agentdesk.telephony.intake import CallIntake
from agentdesk.telephony.sources import LinkState
from agentdesk.telephony.sources.ami import AmiSource
from tests.fake_ami import (
    Block,
    FakeAmi,
    agent_called,
    agent_complete,
    agent_connect,
    agent_ring_no_answer,
    blind_transfer,
    caller_channel,
    hangup,
    hold,
    member_channel,
    peer_status,
    unhold,
    var_set,
)
from tests.support import wait_until

T = TypeVar("T")
ME, COLLEAGUE = "PJSIP/1001", "PJSIP/1002"
LINKEDID = "1764230400.101"
ANI, DNIS = "6175550123", "8005550142"
CALLER = caller_channel(LINKEDID, ANI, DNIS)
MY_LEG = member_channel(ME, 2, LINKEDID)
COLLEAGUE_LEG = member_channel(COLLEAGUE, 3, LINKEDID)


class Desk:
    """What reaches the desk from one AMI source: the events, the tracker's calls, and the link states."""

    # As app.py builds it: the agent id plus settings.agent.phone_ids, which must list the AMI interface too
    # (without it, CallTracker takes this agent's own AgentConnect for an answer elsewhere).
    def __init__(self, own_agent_ids: tuple[str, ...] = ("jdoe", ME)) -> None:
        self.events: list[CallEvent] = []
        self.tracker = CallTracker("US", own_agent_ids=own_agent_ids)
        self.intake = CallIntake(self._deliver)
        self.links: list[tuple[LinkState, str]] = []

    def _deliver(self, event: CallEvent) -> None:
        self.events.append(event)
        self.tracker.ingest(event)

    def on_link(self, name: str, state: LinkState, detail: str) -> None:
        assert name == "pbx"
        self.links.append((state, detail))

    @property
    def states(self) -> list[LinkState]:
        return [state for state, _detail in self.links]


async def with_ami(
    desk: Desk,
    body: Callable[[FakeAmi, AmiSource], Awaitable[T]],
    secret: str = "not-a-real-secret-0142",
) -> T:
    async with FakeAmi() as ami:
        source = AmiSource(
            "pbx", "127.0.0.1", ami.port, "agentdesk", secret, desk.intake, ME, desk.on_link, max_backoff=0.2
        )
        source.start()
        try:
            return await body(ami, source)
        finally:
            await source.stop()


def run(desk: Desk, *blocks: Block, until: Callable[[], object] | None = None) -> FakeAmi:
    """Log in, push the blocks, then a marker call for this agent, and wait until the marker arrived: everything
    before it has then been handled (AMI is one ordered stream)."""
    marker = caller_channel("1764239999.900", "6175550199", DNIS)

    async def body(ami: FakeAmi, source: AmiSource) -> FakeAmi:
        await ami.wait_logged_in()
        await wait_until(lambda: source.state is LinkState.UP, what="the link up")
        await ami.push(*blocks, agent_called(marker, member_channel(ME, 9, marker.linkedid), ME))
        await wait_until(until or (lambda: any(e.call_id == marker.linkedid for e in desk.events)), what="marker")
        return ami

    ami = asyncio.run(with_ami(desk, body))
    desk.events = [e for e in desk.events if e.call_id != marker.linkedid]
    return ami


def test_a_queue_call_for_this_agent_arrives_offered_answered_held_and_ended() -> None:
    desk = Desk()
    ami = run(
        desk,
        agent_called(CALLER, MY_LEG, ME),
        agent_connect(CALLER, MY_LEG, ME),
        hold(MY_LEG),
        unhold(MY_LEG),
        hangup(CALLER),  # the caller hangs up first ...
        agent_complete(CALLER, MY_LEG, ME, reason="caller"),
        hangup(MY_LEG),  # ... then Asterisk clears the agent's leg
    )
    assert ami.logins == [
        {
            "Action": "Login",
            "ActionID": "agentdesk-login",
            "Username": "agentdesk",
            "Secret": "not-a-real-secret-0142",
            "Events": "on",
        }
    ]
    assert [e.kind for e in desk.events] == [
        CallEventKind.OFFERED,
        CallEventKind.ANSWERED,
        CallEventKind.HELD,
        CallEventKind.RESUMED,
        CallEventKind.ENDED,
        CallEventKind.ENDED,
        CallEventKind.ENDED,
    ]
    assert {e.call_id for e in desk.events} == {LINKEDID}  # the Linkedid, the same across both legs
    offered = desk.events[0]
    assert (offered.ani, offered.dnis, offered.queue, offered.agent) == (ANI, DNIS, "cardiology", ME)
    assert offered.source == "pbx" and offered.occurred_at.tzinfo is not None
    call = desk.tracker.get(LINKEDID)
    assert call is not None
    assert call.state is CallState.ENDED and call.end_reason == "hung up"
    assert call.ani == "+16175550123" and call.dnis == "+18005550142" and call.queue == "cardiology"
    assert call.answered_at is not None and call.hold_seconds >= 0
    assert desk.states[:2] == [LinkState.CONNECTING, LinkState.UP]
    assert desk.links[-1] == (LinkState.DOWN, "stopped")
    assert not desk.intake.rejected


def test_ring_all_answered_by_a_colleague_leaves_this_desktop_as_answered_elsewhere() -> None:
    desk = Desk()
    run(
        desk,
        agent_called(CALLER, MY_LEG, ME),
        agent_called(CALLER, COLLEAGUE_LEG, COLLEAGUE),
        agent_connect(CALLER, COLLEAGUE_LEG, COLLEAGUE),
    )
    assert [(e.kind, e.agent) for e in desk.events] == [
        (CallEventKind.OFFERED, ME),
        (CallEventKind.ANSWERED, COLLEAGUE),
    ]
    assert desk.events[1].attributes.get("answered_elsewhere") == "1"
    call = desk.tracker.get(LINKEDID)
    assert call is not None and call.state is CallState.ENDED and call.end_reason == "answered elsewhere"
    assert LINKEDID not in {c.call_id for c in desk.tracker.active_calls}  # off this agent's screen


HANGUP_BUG = (
    "bug: ami.py event_from_message turns every Hangup carrying the call's Linkedid into 'ended', including the "
    "other ring-all members' legs that app_queue hangs up (Cause 26) right before it publishes AgentConnect"
)


def test_ring_all_answered_here_keeps_the_call_despite_the_other_legs_hanging_up() -> None:
    desk = Desk()
    run(
        desk,
        agent_called(CALLER, MY_LEG, ME),
        agent_called(CALLER, COLLEAGUE_LEG, COLLEAGUE),
        # app_queue's try_calling(): hangupcalls() on the losing legs, then the AgentConnect for the winner.
        hangup(COLLEAGUE_LEG, "26", "Answered elsewhere"),
        agent_connect(CALLER, MY_LEG, ME),
    )
    call = desk.tracker.get(LINKEDID)
    assert call is not None
    assert call.state is CallState.TALKING, f"the call this agent just answered ended as '{call.end_reason}'"


def test_ring_all_answered_elsewhere_in_asterisks_real_order_is_not_counted_abandoned() -> None:
    desk = Desk()
    run(
        desk,
        agent_called(CALLER, MY_LEG, ME),
        agent_called(CALLER, COLLEAGUE_LEG, COLLEAGUE),
        hangup(MY_LEG, "26", "Answered elsewhere"),  # this agent's ringing leg is cancelled first
        agent_connect(CALLER, COLLEAGUE_LEG, COLLEAGUE),
    )
    call = desk.tracker.get(LINKEDID)
    assert call is not None and call.state is CallState.ENDED
    assert call.end_reason == "answered elsewhere"


def test_another_agents_queue_events_are_ignored() -> None:
    desk = Desk()
    other = caller_channel("1764230500.201", "6175550177", DNIS)
    other_leg = member_channel(COLLEAGUE, 4, other.linkedid)
    run(
        desk,
        agent_called(other, other_leg, COLLEAGUE),
        agent_ring_no_answer(other, other_leg, COLLEAGUE),
        agent_complete(other, other_leg, COLLEAGUE),
    )
    assert desk.events == []
    assert desk.tracker.get(other.linkedid) is None
    assert not desk.intake.rejected


def test_ring_no_answer_ends_the_ringing_call_with_that_reason() -> None:
    desk = Desk()
    run(desk, agent_called(CALLER, MY_LEG, ME), agent_ring_no_answer(CALLER, MY_LEG, ME), hangup(MY_LEG))
    call = desk.tracker.get(LINKEDID)
    assert call is not None and call.state is CallState.ENDED and call.end_reason == "ring no answer"


def test_the_queue_ringing_this_agent_again_after_no_answer_pops_the_call_again() -> None:
    desk = Desk()
    second_leg = member_channel(ME, 5, LINKEDID)
    run(
        desk,
        agent_called(CALLER, MY_LEG, ME),
        agent_ring_no_answer(CALLER, MY_LEG, ME),
        hangup(MY_LEG),
        agent_called(CALLER, second_leg, ME),  # queues.conf 'retry': the same caller, rung again
        agent_connect(CALLER, second_leg, ME),
    )
    call = desk.tracker.get(LINKEDID)
    assert call is not None and call.state is CallState.TALKING


def test_a_blind_transfer_by_this_agent_ends_the_call_as_transferred() -> None:
    desk = Desk()
    run(
        desk,
        agent_called(CALLER, MY_LEG, ME),
        agent_connect(CALLER, MY_LEG, ME),
        blind_transfer(MY_LEG, CALLER),
        hangup(MY_LEG),
    )
    assert not desk.intake.rejected
    call = desk.tracker.get(LINKEDID)
    assert call is not None and call.state is CallState.ENDED and call.end_reason == "transferred"


def test_a_wrong_secret_shows_refused_and_delivers_nothing() -> None:
    desk = Desk()
    wrong = "wrong-secret-0199"

    async def body(ami: FakeAmi, source: AmiSource) -> FakeAmi:
        await wait_until(lambda: LinkState.REFUSED in desk.states, what="the refusal")
        await ami.push(agent_called(CALLER, MY_LEG, ME))  # nobody is logged in to receive it
        await asyncio.sleep(0.05)
        return ami

    ami = asyncio.run(with_ami(desk, body, secret=wrong))
    assert desk.states[:2] == [LinkState.CONNECTING, LinkState.REFUSED]
    assert LinkState.UP not in desk.states
    refused_detail = desk.links[1][1]
    assert "login refused" in refused_detail
    assert wrong not in " ".join(detail for _state, detail in desk.links)  # the secret never reaches the screen
    assert ami.refused >= 1 and ami.logins[0]["Secret"] == wrong
    assert desk.events == [] and not desk.intake.rejected and not desk.intake.accepted


def test_an_event_without_a_call_id_is_counted_as_rejected() -> None:
    desk = Desk()
    block = [(k, v) for k, v in agent_called(CALLER, MY_LEG, ME) if k not in ("Uniqueid", "Linkedid")]
    run(desk, block)
    assert desk.events == []
    assert desk.intake.rejected == {"missing call id": 1}


def test_unrelated_events_are_ignored_without_rejection() -> None:
    desk = Desk()
    run(
        desk,
        peer_status(ME),
        var_set(CALLER),
        var_set(MY_LEG, "BRIDGEPEER", "PJSIP/trunk-00000001"),
        [("Event", "QueueCallerJoin"), ("Privilege", "agent,all"), *CALLER.fields(), ("Queue", "cardiology")],
        [("Event", "Newexten"), ("Privilege", "dialplan,all"), *CALLER.fields(), ("Application", "Queue")],
    )
    assert desk.events == []
    assert not desk.intake.rejected
    assert desk.intake.accepted == {"pbx": 1}  # only the marker call


def test_a_server_that_is_not_asterisk_is_reported_down() -> None:
    desk = Desk()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
        await writer.drain()
        await reader.read()
        writer.close()
        await writer.wait_closed()

    async def scenario() -> None:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        source = AmiSource("pbx", "127.0.0.1", port, "agentdesk", "x", desk.intake, ME, desk.on_link, 0.2)
        source.start()
        try:
            await wait_until(lambda: LinkState.DOWN in desk.states, what="the link down")
        finally:
            await source.stop()
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())
    assert desk.states[:2] == [LinkState.CONNECTING, LinkState.DOWN]
    assert "ValueError" in desk.links[1][1]
    assert desk.events == []


def test_odd_lines_and_caller_ids_never_cost_the_link_or_the_call() -> None:
    """Issue 9: a line longer than any AMI field needs is dropped alone (the link stays up, the next event is
    read), and an odd caller id (control characters, 80 digits, 'anonymous') still delivers its call."""
    desk = Desk()
    long_caller = caller_channel("1764230400.301", "6" * 80, DNIS)
    noisy_caller = caller_channel("1764230400.302", "617\x1b555\x000123", DNIS)
    withheld = caller_channel("1764230400.303", "anonymous", DNIS)
    run(
        desk,
        [("Event", "VarSet"), ("Privilege", "dialplan,all"), ("Value", "x" * 20_000), *CALLER.fields()],
        agent_called(long_caller, member_channel(ME, 3, long_caller.linkedid), ME),
        agent_called(noisy_caller, member_channel(ME, 4, noisy_caller.linkedid), ME),
        agent_called(withheld, member_channel(ME, 5, withheld.linkedid), ME),
    )
    assert desk.states.count(LinkState.UP) == 1  # never reconnected
    assert not desk.intake.rejected
    calls = {e.call_id: desk.tracker.get(e.call_id) for e in desk.events}
    long_call, noisy_call, withheld_call = (calls[c.linkedid] for c in (long_caller, noisy_caller, withheld))
    assert long_call is not None and long_call.ani_note == "too long" and len(long_call.ani) == 64
    assert noisy_call is not None and "\x1b" not in noisy_call.ani_raw and "\x00" not in noisy_call.ani_raw
    assert withheld_call is not None and withheld_call.ani_note == "anonymous"
