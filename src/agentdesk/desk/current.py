"""Which call the agent's panels show: the one on the line, else the first ringing, else the last; a mandatory
wrap-up holds the view; a transfer continues the caller's previous call."""

from __future__ import annotations

from datetime import timedelta

from agentdesk.desk.context import CallContext
from agentdesk.desk.core import DeskCore
from agentdesk.telephony.caller_id import can_look_up
from agentdesk.telephony.calls import Call, CallState

TRANSFER_WINDOW = timedelta(minutes=2)


class CurrentCall(DeskCore):
    def _transferred_from(self, call: Call) -> CallContext | None:
        """The caller's previous call, when it is live or was transferred moments ago (one dictionary look-up:
        per-event work never scans every call)."""
        if not can_look_up(call.ani, call.ani_note):
            return None
        context = self._by_caller.get(call.ani)
        if context is None or context.call.call_id == call.call_id:
            return None
        other = context.call
        live_or_transferred = other.end_reason == "transferred" or other.state is not CallState.ENDED
        recent = other.ended_clock is None or call.offered_clock - other.ended_clock < TRANSFER_WINDOW.total_seconds()
        return context if live_or_transferred and recent else None

    def _holds_view(self, context: CallContext | None, now: float | None = None) -> bool:
        """A mandatory wrap-up keeps the agent's view on the ended call until saved or its time limit passes."""
        if context is None or not self.wrapup.required or context.manual or context.wrapped_up:
            return False
        if context.call.state is not CallState.ENDED or context.call.answered_at is None:
            return False
        if not self.wrapup.limit_seconds:
            return True
        call = context.call
        if call.ended_clock is not None:  # the desk's clock: a phone system's skew cannot shorten the wrap-up
            since = (self.monotonic() if now is None else now) - call.ended_clock
        else:  # a call restored from a draft: only its stored times remain
            since = (self.clock() - (call.ended_at or call.offered_at)).total_seconds()
        return since < self.wrapup.limit_seconds

    def _choose_current(self, changed: CallContext) -> None:
        """Which call the panels show: the one the agent talks on, else the first ringing, else the last."""
        current = self.current
        if current is not changed and self._holds_view(current) and changed.call.state is not CallState.TALKING:
            return  # the agent finishes this wrap-up first
        if current is None:
            self.current = changed
        elif current.call.state is CallState.ENDED and current.wrapped_up:
            # Done with it (or it never reached the agent): show the next live call, if any.
            first = self.tracker.first_active()
            live = self.contexts.get(first.call_id) if first is not None else None
            self.current = live or (changed if changed.call.state is not CallState.ENDED else current)
        elif current.call.state is CallState.ENDED and changed.call.state is not CallState.ENDED:
            self.current = changed
        if changed.call.state is CallState.TALKING and (
            self.current is None or self.current.call.state is not CallState.TALKING
        ):
            self.current = changed  # the agent picked up this one

    def focus(self, call_id: str) -> CallContext | None:
        """The agent chose a call from the list of active calls."""
        context = self.contexts.get(call_id)
        if context is not None:
            self.current = context
            self.on.call(context)
        return context

    @property
    def active_contexts(self) -> list[CallContext]:
        return [context for call in self.tracker.active_calls if (context := self.contexts.get(call.call_id))]

    def _release_view(self, next_wrapup: bool = False) -> None:
        """Show the next call: the one the agent talks on, else the longest-waiting live one (a ringing call held
        back by a mandatory wrap-up), else (`next_wrapup`) the next ended call waiting for its wrap-up."""
        talking = self.tracker.talking()
        first = talking[0] if talking else self.tracker.first_active()
        following = self.contexts.get(first.call_id) if first is not None else None
        if following is None and next_wrapup:
            following = next(iter(self._unwrapped.values()), None)
        if following is not None and self.current is not following:
            self.current = following
            self.on.call(following)
