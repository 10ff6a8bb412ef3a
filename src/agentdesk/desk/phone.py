"""The call model of a phone: one conversation at a time, the other calls ringing or held; an ended call waits
for its wrap-up until it is saved or discarded; the agent's state follows (On Call, Wrap-up, Available). When
the desk can drive a phone (the demo's), Answer, Hold and Hang up go through here."""

from __future__ import annotations

from agentdesk.desk.context import CallContext
from agentdesk.desk.current import CurrentCall
from agentdesk.telephony.agent_state import AgentState
from agentdesk.telephony.calls import Call, CallState
from agentdesk.telephony.events import CallEvent, CallEventKind


class PhoneCalls(CurrentCall):
    @property
    def open_contexts(self) -> list[CallContext]:
        """What the agent still has to deal with: the live calls (ringing, talking, held), then the ended calls
        that wait for their wrap-up (listed until it is saved or discarded)."""
        return [*self.active_contexts, *self._unwrapped.values()]

    @property
    def needs_wrapup(self) -> list[CallContext]:
        return list(self._unwrapped.values())

    def _hold_others(self, taken: Call) -> None:
        """One conversation at a time, as on a phone: taking a call puts the one the agent was talking on on hold.
        (Some phone systems hold it without saying so; the desk then records the hold itself.)"""
        for other in self.tracker.talking():
            if other.call_id != taken.call_id:
                held = CallEvent(
                    CallEventKind.HELD,
                    other.call_id,
                    source="desk",
                    occurred_at=self.clock(),
                    received_at=self.monotonic(),
                )
                self.tracker.ingest(held)

    def _settle_agent_state(self) -> None:
        """After a call ended or a wrap-up closed: On Call while a call is on the line (talking or held), else
        Wrap-up while an ended call waits for its wrap-up, else Available. A state the agent chose is kept."""
        if self.tracker.on_line:
            return
        if self._unwrapped:
            self.agent_state.call_ended()
        elif self.agent_state.status.state in (AgentState.ON_CALL, AgentState.WRAP_UP):
            self.agent_state.set(AgentState.AVAILABLE)

    # -- a phone this desk drives (the demo's) ---------------------------------------------------------------------
    def answer(self, call_id: str) -> None:
        """Take this call: answer it when it rings, resume it when held. As on a phone, the call the agent is
        talking on goes on hold first. The phone's events then move the desk."""
        phone, call = self.phone, self.tracker.get(call_id)
        if phone is None or call is None or call.state not in (CallState.RINGING, CallState.HELD):
            return
        for other in self.tracker.talking():
            if other.call_id != call_id:
                phone.hold(other.call_id)
        if call.state is CallState.RINGING:
            phone.answer(call_id)
        else:
            phone.resume(call_id)

    def hold(self, call_id: str) -> None:
        call = self.tracker.get(call_id)
        if self.phone is not None and call is not None and call.state is CallState.TALKING:
            self.phone.hold(call_id)

    def hang_up(self, call_id: str) -> None:
        call = self.tracker.get(call_id)
        if self.phone is not None and call is not None and call.state is not CallState.ENDED:
            self.phone.hang_up(call_id)

    def may_answer_by_itself(self, call_id: str) -> bool:
        """Whether a phone that answers by itself (the demo's) may take this ringing call now: never while the
        agent is on another call, talking or holding; the call then rings until the agent takes it."""
        call = self.tracker.get(call_id)
        return call is not None and call.state is CallState.RINGING and not self.tracker.on_line
