"""The call model of a phone, at the desk (no Qt): one conversation at a time, the other calls ringing or held;
the demo's phone never takes a call by itself while the agent is on another; every ended call waits for its
wrap-up (listed) until it is saved or discarded, and the discard is audited. The phone is the demo's simulator,
feeding its events back through the desk's intake as it does in the window."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentdesk.demo.simulator import CallSimulator
from agentdesk.desk import Desk
from agentdesk.telephony.agent_state import AgentState
from agentdesk.telephony.calls import CallState
from agentdesk.telephony.events import CallEventKind
from tests.desk.test_desk import CALLER, OTHER_CALLER, FakeClock, event, rows, run_desk
from tests.support import wait_until

THIRD_CALLER = "+16175550199"


def demo_phone(desk: Desk, answer_after: float = 0.05) -> CallSimulator:
    phone = CallSimulator(
        desk.ingest, [CALLER], ["+18005550100"], answer_after_seconds=answer_after, may_answer=desk.may_answer_by_itself
    )
    desk.phone = phone
    return phone


def states(desk: Desk) -> dict[str, CallState]:
    return {context.call.ani: context.call.state for context in desk.open_contexts}


def test_the_demo_phone_rings_a_second_call_while_the_agent_talks_and_answering_it_holds_the_first(
    tmp_path: Path,
) -> None:
    async def scenario(desk: Desk, clock: FakeClock) -> None:
        phone = demo_phone(desk)
        first = phone.simulate_call(ani=CALLER)
        await wait_until(lambda: desk.contexts[first].call.state is CallState.TALKING, what="the first answered")
        second = phone.simulate_call(ani=OTHER_CALLER)
        third = phone.simulate_call(ani=THIRD_CALLER)
        await asyncio.sleep(0.2)  # well past the demo phone's ring
        assert states(desk) == {
            CALLER: CallState.TALKING,
            OTHER_CALLER: CallState.RINGING,
            THIRD_CALLER: CallState.RINGING,
        }
        assert desk.current is desk.contexts[first] and desk.agent_state.status.state is AgentState.ON_CALL

        desk.answer(second)  # the agent takes the second call: the first goes on hold, as on a phone
        assert states(desk) == {
            CALLER: CallState.HELD,
            OTHER_CALLER: CallState.TALKING,
            THIRD_CALLER: CallState.RINGING,
        }
        assert desk.current is desk.contexts[second]

        desk.hang_up(second)
        assert desk.agent_state.status.state is AgentState.ON_CALL  # the first caller still holds for the agent
        assert desk.current is desk.contexts[second]  # its wrap-up is on screen
        assert [c.call.call_id for c in desk.needs_wrapup] == [second]

        desk.answer(first)  # resumed
        assert desk.contexts[first].call.state is CallState.TALKING and desk.current is desk.contexts[first]
        assert desk.contexts[first].call.hold_seconds > 0
        desk.hang_up(first)
        desk.hang_up(third)  # the caller still ringing gives up: nothing to wrap up for it
        assert desk.agent_state.status.state is AgentState.WRAP_UP
        assert [c.call.call_id for c in desk.needs_wrapup] == [second, first]
        assert [c.call.call_id for c in desk.open_contexts] == [second, first]

        await desk.save_disposition(desk.contexts[second], "information_provided", "", "")
        assert desk.agent_state.status.state is AgentState.WRAP_UP  # the first call's wrap-up is still due
        assert desk.current is desk.contexts[first]  # and it is shown next
        await desk.discard_wrapup(desk.contexts[first], "  silent   line ")
        assert desk.agent_state.status.state is AgentState.AVAILABLE
        assert desk.needs_wrapup == [] and desk.open_contexts == []
        phone.stop()

    path = run_desk(tmp_path, scenario)
    assert rows(path, "SELECT action, detail FROM audit_events WHERE action LIKE 'wrap_up%' ORDER BY seq") == [
        ("wrap_up", "information_provided"),
        ("wrap_up_discard", "silent line"),
    ]


def test_a_phone_system_that_answers_a_second_call_without_a_hold_event_still_leaves_one_conversation(
    tmp_path: Path,
) -> None:
    async def scenario(desk: Desk, clock: FakeClock) -> None:
        desk.ingest(event(CallEventKind.OFFERED, "a", clock()))
        desk.ingest(event(CallEventKind.ANSWERED, "a", clock.advance(2)))
        desk.ingest(event(CallEventKind.OFFERED, "b", clock.advance(5), ani=OTHER_CALLER))
        desk.ingest(event(CallEventKind.ANSWERED, "b", clock.advance(2), ani=OTHER_CALLER))
        assert [c.call_id for c in desk.tracker.talking()] == ["b"]
        assert desk.contexts["a"].call.state is CallState.HELD
        desk.ingest(event(CallEventKind.HELD, "a", clock.advance(1)))  # the system's own hold, late: no change
        desk.ingest(event(CallEventKind.ENDED, "b", clock.advance(30), ani=OTHER_CALLER))
        assert desk.agent_state.status.state is AgentState.ON_CALL  # "a" still holds
        desk.ingest(event(CallEventKind.RESUMED, "a", clock.advance(5)))
        desk.ingest(event(CallEventKind.ENDED, "a", clock.advance(60)))
        assert desk.agent_state.status.state is AgentState.WRAP_UP

    path = run_desk(tmp_path, scenario)
    kinds = rows(path, "SELECT kind, source FROM call_events WHERE call_id = 'a' ORDER BY rowid")
    assert [k for k, _ in kinds] == ["offered", "answered", "held", "resumed", "ended"]
    assert ("held", "desk") in kinds  # recorded as the desk's own inference, not the phone system's


def test_an_unsaved_wrap_up_stays_listed_across_other_calls_and_hours(tmp_path: Path) -> None:
    async def scenario(desk: Desk, clock: FakeClock) -> None:
        desk.ingest(event(CallEventKind.OFFERED, "a", clock()))
        desk.ingest(event(CallEventKind.ANSWERED, "a", clock.advance(2)))
        desk.ingest(event(CallEventKind.ENDED, "a", clock.advance(60)))
        desk.ingest(event(CallEventKind.OFFERED, "b", clock.advance(5), ani=OTHER_CALLER))
        desk.ingest(event(CallEventKind.ANSWERED, "b", clock.advance(2), ani=OTHER_CALLER))
        assert desk.current is desk.contexts["b"]
        assert [c.call.call_id for c in desk.open_contexts] == ["b", "a"]  # "a" is still reachable
        with pytest.raises(ValueError, match="still in progress"):
            await desk.discard_wrapup(desk.contexts["b"])
        desk.ingest(event(CallEventKind.ENDED, "b", clock.advance(60), ani=OTHER_CALLER))
        await desk.save_disposition(desk.contexts["b"], "information_provided", "", "")
        desk.expire_calls(clock.later(3 * 3600))  # hours later: ended calls are forgotten, not this wrap-up
        assert "b" not in desk.contexts
        assert [c.call.call_id for c in desk.open_contexts] == ["a"]
        assert desk.focus("a") is desk.contexts["a"]
        assert desk.agent_state.status.state is AgentState.WRAP_UP

    run_desk(tmp_path, scenario)


def test_a_wrap_up_saved_during_the_call_leaves_the_agent_available_when_it_ends(tmp_path: Path) -> None:
    async def scenario(desk: Desk, clock: FakeClock) -> None:
        desk.ingest(event(CallEventKind.OFFERED, "a", clock()))
        desk.ingest(event(CallEventKind.ANSWERED, "a", clock.advance(2)))
        await desk.save_disposition(desk.contexts["a"], "information_provided", "", "")
        desk.ingest(event(CallEventKind.ENDED, "a", clock.advance(60)))
        assert desk.agent_state.status.state is AgentState.AVAILABLE
        assert desk.needs_wrapup == []

    run_desk(tmp_path, scenario)
