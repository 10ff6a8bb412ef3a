"""CallTracker under random, repeated, out-of-order and missing events, checked against a small reference model.

Every step compares the tracker with the model (state, end reason, hold time) and checks the invariants the desk
relies on: an ended call stays ended, the desk's clock readings are ordered, hold time never shrinks,
`active_calls` is exactly the calls not ended, listeners hear of real changes only, and a repeated event changes
nothing. The phone system's clock is off by a random skew that may jump at any step: timestamps are stored as it
sent them, while hold time and the ring timeout follow the desk's monotonic clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from agentdesk.telephony.calls import Call, CallState, CallTracker
from agentdesk.telephony.events import CallEvent, CallEventKind

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
M0 = 5000.0  # the desk's monotonic clock at T0
RING_TIMEOUT = 90.0
CALL_IDS = ["c1", "c2", "c3", "c4"]
NUMBERS = {"c1": "6175550101", "c2": "(617) 555-0102", "c3": "+1 617 555 0103", "c4": "617.555.0104"}
call_ids = st.sampled_from(CALL_IDS)


@dataclass
class Expected:
    """What the reference model says about one call."""

    state: CallState
    offered_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    held_since: datetime | None = None
    hold_seconds: float = 0.0
    end_reason: str = ""
    offered_desk: datetime = T0  # when the desk received the offer (its own clock)
    held_desk: datetime | None = None


class CallTrackerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tracker = CallTracker("US", ring_timeout_seconds=RING_TIMEOUT)
        self.model: dict[str, Expected] = {}
        self.now = T0  # the desk's time
        self.skew = timedelta(0)  # how far the phone system's clock is off
        self.notified: list[tuple[Call, CallEvent]] = []
        self.last_notified: dict[str, Call] = {}
        self.hold_seen: dict[str, float] = {}
        self.last_event: dict[str, CallEvent] = {}
        self.tracker.subscribe(self._heard)

    def _heard(self, call: Call, event: CallEvent) -> None:
        previous = self.last_notified.get(call.call_id)
        # Every notification is a real change: never the same call twice in a row, unchanged.
        assert previous is None or previous != call, f"{call.call_id} re-notified unchanged"
        assert event.call_id == call.call_id
        self.last_notified[call.call_id] = call
        self.notified.append((call, event))

    # --- the model -------------------------------------------------------------------------------------------

    @property
    def stamp(self) -> datetime:
        """The phone system's clock now."""
        return self.now + self.skew

    def clock(self, at: datetime | None = None) -> float:
        """The desk's monotonic clock reading at desk time `at` (default: now)."""
        return M0 + ((at or self.now) - T0).total_seconds()

    def _end(self, expected: Expected, reason: str, at: datetime | None = None) -> None:
        if expected.state is CallState.HELD:
            self._resume(expected)
        expected.state, expected.ended_at, expected.end_reason = CallState.ENDED, at or self.stamp, reason

    def _resume(self, expected: Expected) -> None:
        assert expected.held_since is not None and expected.held_desk is not None
        expected.hold_seconds += (self.now - expected.held_desk).total_seconds()
        expected.state, expected.held_since, expected.held_desk = CallState.TALKING, None, None

    def _model(self, kind: CallEventKind, call_id: str, elsewhere: bool) -> None:
        expected = self.model.get(call_id)
        if expected is None:
            if kind is CallEventKind.OFFERED:
                self.model[call_id] = Expected(CallState.RINGING, self.stamp, offered_desk=self.now)
            elif kind is CallEventKind.ANSWERED and not elsewhere:
                self.model[call_id] = Expected(
                    CallState.TALKING, self.stamp, answered_at=self.stamp, offered_desk=self.now
                )
            return
        state = expected.state
        if state is CallState.ENDED:
            return
        if kind is CallEventKind.ANSWERED:
            if state is CallState.RINGING and elsewhere:
                self._end(expected, "answered elsewhere")
            elif state is CallState.RINGING:
                expected.state, expected.answered_at = CallState.TALKING, self.stamp
            elif state is CallState.HELD:
                self._resume(expected)
        elif kind is CallEventKind.HELD and state is CallState.TALKING:
            expected.state, expected.held_since, expected.held_desk = CallState.HELD, self.stamp, self.now
        elif kind is CallEventKind.RESUMED and state is CallState.HELD:
            self._resume(expected)
        elif kind is CallEventKind.ENDED:
            self._end(expected, "abandoned" if state is CallState.RINGING else "hung up")
        elif kind is CallEventKind.TRANSFERRED:
            self._end(expected, "transferred")

    # --- rules -----------------------------------------------------------------------------------------------

    @initialize()
    def nothing_yet(self) -> None:
        assert self.tracker.active_calls == []

    def _send(self, kind: CallEventKind, call_id: str, elsewhere: bool = False) -> None:
        attributes = MappingProxyType({"answered_elsewhere": "1"} if elsewhere else {})
        event = CallEvent(
            kind,
            call_id,
            ani=NUMBERS[call_id],
            source="fuzz",
            attributes=attributes,
            occurred_at=self.stamp,
            received_at=self.clock(),
            stamped=True,
        )
        before = len(self.notified)
        changed = self.tracker.ingest(event)
        self._model(kind, call_id, elsewhere)
        heard = self.notified[before:]
        if changed is None:
            assert heard == [], "an ignored event was announced"
        else:
            assert heard == [(changed, event)], "a change was not announced exactly once"
            assert self.tracker.get(call_id) is changed
        self.last_event[call_id] = event
        self._compare(call_id)

    @rule(call_id=call_ids)
    def offered(self, call_id: str) -> None:
        self._send(CallEventKind.OFFERED, call_id)

    @rule(call_id=call_ids)
    def answered(self, call_id: str) -> None:
        self._send(CallEventKind.ANSWERED, call_id)

    @rule(call_id=call_ids)
    def answered_elsewhere(self, call_id: str) -> None:
        self._send(CallEventKind.ANSWERED, call_id, elsewhere=True)

    @rule(call_id=call_ids)
    def held(self, call_id: str) -> None:
        self._send(CallEventKind.HELD, call_id)

    @rule(call_id=call_ids)
    def resumed(self, call_id: str) -> None:
        self._send(CallEventKind.RESUMED, call_id)

    @rule(call_id=call_ids)
    def ended(self, call_id: str) -> None:
        self._send(CallEventKind.ENDED, call_id)

    @rule(call_id=call_ids)
    def transferred(self, call_id: str) -> None:
        self._send(CallEventKind.TRANSFERRED, call_id)

    @precondition(lambda self: bool(self.last_event))
    @rule(data=st.data())
    def repeat_last_event(self, data: st.DataObject) -> None:
        """A source that re-sends (webhook retry, reconnect replay) changes nothing."""
        call_id = data.draw(st.sampled_from(sorted(self.last_event)))
        before_call, before_heard = self.tracker.get(call_id), len(self.notified)
        assert self.tracker.ingest(self.last_event[call_id]) is None
        assert self.tracker.get(call_id) is before_call
        assert len(self.notified) == before_heard

    @rule(seconds=st.one_of(st.floats(min_value=0, max_value=5), st.integers(min_value=0, max_value=200)))
    def time_passes(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    @rule(seconds=st.sampled_from([-3600, -120, -5, 0, 3, 120, 900]))
    def phone_system_clock_jumps(self, seconds: int) -> None:
        """NTP steps, a PBX set to the wrong zone...: none of it may end a call early or skew hold time."""
        self.skew = timedelta(seconds=seconds)

    @rule()
    def expire(self) -> None:
        before = len(self.notified)
        expired = self.tracker.expire(self.clock())
        due = sorted(
            call_id
            for call_id, expected in self.model.items()
            if expected.state is CallState.RINGING and (self.now - expected.offered_desk).total_seconds() > RING_TIMEOUT
        )
        assert sorted(call.call_id for call in expired) == due
        assert [call for call, _event in self.notified[before:]] == expired
        for call_id in due:
            expected = self.model[call_id]
            # Stored in the phone system's time line: its offer time plus how long the call rang here.
            self._end(expected, "ring timeout", at=expected.offered_at + (self.now - expected.offered_desk))
            self.last_event.pop(call_id, None)  # its last event is now the timeout, which a source never sends
        for call_id in self.model:
            self._compare(call_id)

    # --- checks ----------------------------------------------------------------------------------------------

    def _compare(self, call_id: str) -> None:
        call, expected = self.tracker.get(call_id), self.model.get(call_id)
        if expected is None:
            assert call is None, f"{call_id} exists though no event could start it"
            return
        assert call is not None
        assert call.state is expected.state
        assert call.offered_at == expected.offered_at
        assert call.answered_at == expected.answered_at
        assert call.ended_at == expected.ended_at
        assert call.held_since == expected.held_since
        assert call.end_reason == expected.end_reason
        assert call.hold_seconds == pytest.approx(expected.hold_seconds)
        assert call.ani == "+1617555" + NUMBERS[call_id][-4:]  # every spelling normalised to E.164

    @invariant()
    def ended_calls_never_come_back(self) -> None:
        for call_id, call in self.last_notified.items():
            current = self.tracker.get(call_id)
            assert current is call  # the tracker never changes a call without telling its listeners
            if any(c.call_id == call_id and c.state is CallState.ENDED for c, _ in self.notified):
                assert current.state is CallState.ENDED

    @invariant()
    def desk_clock_readings_are_ordered(self) -> None:
        # The phone system's timestamps are stored as sent (they may go backwards when its clock jumps); the
        # desk's own clock readings, which durations use, never do.
        for call in self.last_notified.values():
            if call.answered_clock is not None:
                assert call.answered_clock >= call.offered_clock
            if call.ended_clock is not None:
                assert call.ended_clock >= (call.answered_clock or call.offered_clock)
                assert call.end_reason
            talk = call.talk_seconds(self.clock())
            assert talk is None or talk >= 0
            assert (call.held_since is not None) == (call.state is CallState.HELD)

    @invariant()
    def hold_time_never_shrinks(self) -> None:
        for call_id, call in self.last_notified.items():
            assert call.hold_seconds >= self.hold_seen.get(call_id, 0.0) >= 0.0
            self.hold_seen[call_id] = call.hold_seconds

    @invariant()
    def active_calls_are_exactly_the_calls_not_ended(self) -> None:
        active = {call.call_id for call in self.tracker.active_calls}
        assert active == {cid for cid, expected in self.model.items() if expected.state is not CallState.ENDED}
        assert all(call.state is not CallState.ENDED for call in self.tracker.active_calls)


CallTrackerMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_call_tracker_state_machine = CallTrackerMachine.TestCase
