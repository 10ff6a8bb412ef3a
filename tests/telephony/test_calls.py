"""The call state machine and the agent's state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentdesk.telephony.agent_state import AgentState, AgentStateMachine
from agentdesk.telephony.calls import CallState, CallTracker
from agentdesk.telephony.events import CallEvent, CallEventKind

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
M0 = 1000.0  # the desk's monotonic clock when T0 arrives


def event(kind: CallEventKind, call_id: str = "c1", seconds: float = 0, **extra: str) -> CallEvent:
    """An event stamped `seconds` after T0 and received `seconds` after M0 (the clocks agree)."""
    return CallEvent(
        kind=kind,
        call_id=call_id,
        occurred_at=T0 + timedelta(seconds=seconds),
        received_at=M0 + seconds,
        stamped=True,
        source="test",
        **extra,
    )


def test_lifecycle_with_hold_time_and_normalised_numbers() -> None:
    tracker = CallTracker("US")
    seen: list[CallState] = []
    tracker.subscribe(lambda call, _event: seen.append(call.state))
    tracker.ingest(event(CallEventKind.OFFERED, ani="(617) 555-0123", dnis="800-555-0142"))
    tracker.ingest(event(CallEventKind.ANSWERED, seconds=12))
    tracker.ingest(event(CallEventKind.HELD, seconds=30))
    tracker.ingest(event(CallEventKind.RESUMED, seconds=75))
    tracker.ingest(event(CallEventKind.ENDED, seconds=200))
    call = tracker.get("c1")
    assert call is not None
    assert (call.ani, call.dnis) == ("+16175550123", "+18005550142")
    assert seen == [CallState.RINGING, CallState.TALKING, CallState.HELD, CallState.TALKING, CallState.ENDED]
    assert call.hold_seconds == 45
    assert call.answered_at == T0 + timedelta(seconds=12) and call.ended_at == T0 + timedelta(seconds=200)


def test_duplicates_and_late_events_change_nothing() -> None:
    tracker = CallTracker()
    changes: list[CallState] = []
    tracker.subscribe(lambda call, _event: changes.append(call.state))
    tracker.ingest(event(CallEventKind.OFFERED, ani="6175550123"))
    assert tracker.ingest(event(CallEventKind.OFFERED, ani="6175550123")) is None
    tracker.ingest(event(CallEventKind.ANSWERED, seconds=5))
    assert tracker.ingest(event(CallEventKind.ANSWERED, seconds=6)) is None
    tracker.ingest(event(CallEventKind.ENDED, seconds=60))
    assert tracker.ingest(event(CallEventKind.ANSWERED, seconds=61)) is None
    assert changes == [CallState.RINGING, CallState.TALKING, CallState.ENDED]
    assert tracker.ignored["event after the call ended"] == 1


def test_events_for_unknown_calls() -> None:
    tracker = CallTracker()
    assert tracker.ingest(event(CallEventKind.ENDED, call_id="ghost")) is None
    assert tracker.ignored["event for a call that never started"] == 1
    # A lost 'offered': the agent is evidently talking, so the call starts answered.
    call = tracker.ingest(event(CallEventKind.ANSWERED, call_id="late", ani="+16175550199"))
    assert call is not None and call.state is CallState.TALKING


def test_ended_while_held_counts_the_hold() -> None:
    tracker = CallTracker()
    tracker.ingest(event(CallEventKind.OFFERED))
    tracker.ingest(event(CallEventKind.ANSWERED, seconds=1))
    tracker.ingest(event(CallEventKind.HELD, seconds=10))
    call = tracker.ingest(event(CallEventKind.ENDED, seconds=40))
    assert call is not None and call.hold_seconds == 30 and call.state is CallState.ENDED


def test_call_event_rejects_bad_fields() -> None:
    with pytest.raises(ValueError, match="call_id"):
        CallEvent(kind=CallEventKind.OFFERED, call_id=" ")
    with pytest.raises(ValueError, match="occurred_at"):
        CallEvent(kind=CallEventKind.OFFERED, call_id="x", occurred_at=datetime(2026, 1, 1))


def test_agent_state_follows_calls_and_reasons() -> None:
    machine = AgentStateMachine(["Break", "Lunch"])
    history: list[str] = []
    machine.subscribe(lambda _before, now: history.append(now.label))
    assert machine.status.state is AgentState.NOT_READY
    machine.set(AgentState.AVAILABLE)
    machine.call_started()
    machine.call_ended()
    machine.wrap_up_done()
    machine.set(AgentState.NOT_READY, "Lunch")
    assert history == ["Available", "On Call", "Wrap-up", "Available", "Not Ready: Lunch"]
    with pytest.raises(ValueError, match="reason"):
        machine.set(AgentState.NOT_READY, "Nap")


def test_the_call_being_talked_on_is_known_among_hundreds_on_hold() -> None:
    """Answering with many calls on hold (a busy line in a burst) still names exactly the talking call, through
    hold, resume, transfer and end."""
    tracker = CallTracker()
    for n in range(300):
        tracker.ingest(event(CallEventKind.OFFERED, f"c{n}"))
        tracker.ingest(event(CallEventKind.ANSWERED, f"c{n}", seconds=1))
        tracker.ingest(event(CallEventKind.HELD, f"c{n}", seconds=2))
    assert tracker.talking() == [] and tracker.on_line
    tracker.ingest(event(CallEventKind.RESUMED, "c7", seconds=3))
    assert [call.call_id for call in tracker.talking()] == ["c7"]
    tracker.ingest(event(CallEventKind.RESUMED, "c8", seconds=4))  # the phone system says two: both are shown
    assert [call.call_id for call in tracker.talking()] == ["c7", "c8"]
    tracker.ingest(event(CallEventKind.HELD, "c7", seconds=5))
    tracker.ingest(event(CallEventKind.ENDED, "c8", seconds=6))
    assert tracker.talking() == []
    tracker.ingest(event(CallEventKind.RESUMED, "c7", seconds=7))
    assert [call.call_id for call in tracker.talking()] == ["c7"]
