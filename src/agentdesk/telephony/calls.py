"""The call state machine: turns a stream of (late, repeated, out-of-order) events into consistent calls.

offered -> answered -> [held <-> answered]* -> ended. A repeated event is ignored; an event that would move a
call backwards (answered after ended) is ignored and counted; an `answered` for a call never offered starts the
call in the answered state (the offered event was lost), because the agent is evidently talking to someone.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from agentdesk.base.phone import normalise_phone
from agentdesk.telephony.events import CallEvent, CallEventKind

log = logging.getLogger("agentdesk.telephony")


class CallState(StrEnum):
    RINGING = "ringing"
    TALKING = "talking"
    HELD = "held"
    ENDED = "ended"


_ORDER = {CallState.RINGING: 0, CallState.TALKING: 1, CallState.HELD: 1, CallState.ENDED: 2}


@dataclass(frozen=True, slots=True)
class Call:
    """What the desktop knows about one call, with the timestamps metrics need."""

    call_id: str
    ani: str  # E.164 when the number could be read, else the raw digits
    ani_raw: str
    dnis: str
    queue: str
    campaign: str
    state: CallState
    offered_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    hold_seconds: float = 0.0
    held_since: datetime | None = None
    end_reason: str = ""  # hung up, abandoned, answered elsewhere, ring timeout, transferred
    attributes: dict[str, str] = field(default_factory=dict)


CallListener = Callable[[Call, CallEvent], None]


class CallTracker:
    """Applies call events; tells listeners about every change. The single entry for every call source."""

    def __init__(
        self, default_region: str = "US", own_agent_ids: Iterable[str] = (), ring_timeout_seconds: float = 90.0
    ) -> None:
        self._region = default_region
        self._own_ids = {agent.casefold() for agent in own_agent_ids}
        self.ring_timeout = timedelta(seconds=ring_timeout_seconds)
        self._calls: dict[str, Call] = {}
        self._listeners: list[CallListener] = []
        self.ignored: Counter[str] = Counter()

    def subscribe(self, listener: CallListener) -> None:
        self._listeners.append(listener)

    def get(self, call_id: str) -> Call | None:
        return self._calls.get(call_id)

    @property
    def active_calls(self) -> list[Call]:
        return [call for call in self._calls.values() if call.state is not CallState.ENDED]

    def ingest(self, event: CallEvent) -> Call | None:
        """Apply one event; returns the changed call, or None when the event was ignored (and counted)."""
        current = self._calls.get(event.call_id)
        updated = self._apply(current, event)
        if updated is None or updated == current:
            return None
        self._store(updated, event)
        return updated

    def expire(self, now: datetime) -> list[Call]:
        """End calls that rang past the ring timeout (their 'answered' or 'ended' never came)."""
        expired = [
            c for c in self._calls.values() if c.state is CallState.RINGING and now - c.offered_at > self.ring_timeout
        ]
        changed = []
        for call in expired:
            event = CallEvent(CallEventKind.ENDED, call.call_id, source="ring timeout", occurred_at=now)
            updated = replace(call, state=CallState.ENDED, ended_at=now, end_reason="ring timeout")
            self._store(updated, event)
            changed.append(updated)
        return changed

    def forget_ended(self, before: datetime) -> int:
        """Drop ended calls older than `before`, so a desktop that runs all week does not grow without bound."""
        old = [cid for cid, c in self._calls.items() if c.state is CallState.ENDED and (c.ended_at or before) < before]
        for call_id in old:
            del self._calls[call_id]
        return len(old)

    def _store(self, call: Call, event: CallEvent) -> None:
        self._calls[call.call_id] = call
        for listener in self._listeners:
            listener(call, event)

    def _answered_elsewhere(self, event: CallEvent) -> bool:
        if event.attributes.get("answered_elsewhere") == "1":
            return True
        return bool(self._own_ids and event.agent and event.agent.casefold() not in self._own_ids)

    def _ignore(self, reason: str, event: CallEvent) -> None:
        self.ignored[reason] += 1
        log.info("ignored %s event from %s: %s", event.kind.value, event.source, reason)

    def _apply(self, call: Call | None, event: CallEvent) -> Call | None:
        kind = event.kind
        if call is None:
            if kind is CallEventKind.OFFERED:
                return self._new_call(event, CallState.RINGING)
            if kind is CallEventKind.ANSWERED and self._answered_elsewhere(event):
                self._ignore("answered elsewhere, never rang here", event)
                return None
            if kind is CallEventKind.ANSWERED:
                return replace(self._new_call(event, CallState.TALKING), answered_at=event.occurred_at)
            self._ignore("event for a call that never started", event)
            return None
        if call.state is CallState.ENDED:
            if kind is CallEventKind.OFFERED and call.end_reason == "ring no answer":
                return self._new_call(event, CallState.RINGING)  # the queue rings this agent again: pop again
            if kind is not CallEventKind.ENDED:
                self._ignore("event after the call ended", event)
            return None
        at = event.occurred_at
        if kind is CallEventKind.OFFERED:
            return None  # a repeat; the call is already known
        if kind is CallEventKind.ANSWERED:
            if call.state is CallState.RINGING and self._answered_elsewhere(event):
                # Ring-all: another agent took it; it leaves this desktop.
                return replace(call, state=CallState.ENDED, ended_at=at, end_reason="answered elsewhere")
            if call.state is CallState.RINGING:
                return replace(call, state=CallState.TALKING, answered_at=at)
            if call.state is CallState.HELD:  # some systems send 'answered' when a held call resumes
                return self._resume(call, at)
            return None
        if kind is CallEventKind.HELD:
            if call.state is CallState.TALKING:
                return replace(call, state=CallState.HELD, held_since=at)
            if call.state is CallState.RINGING:
                self._ignore("hold before answer", event)
            return None
        if kind is CallEventKind.RESUMED:
            return self._resume(call, at) if call.state is CallState.HELD else None
        if kind is CallEventKind.ENDED:
            if call.state is CallState.HELD:
                call = self._resume(call, at)
            reason = event.attributes.get("reason") or ("abandoned" if call.state is CallState.RINGING else "hung up")
            return replace(call, state=CallState.ENDED, ended_at=at, end_reason=reason)
        if kind is CallEventKind.TRANSFERRED:
            if call.state is CallState.HELD:
                call = self._resume(call, at)
            return replace(call, state=CallState.ENDED, ended_at=at, end_reason="transferred")
        return None

    @staticmethod
    def _resume(call: Call, at: datetime) -> Call:
        held = (at - call.held_since).total_seconds() if call.held_since else 0.0
        return replace(call, state=CallState.TALKING, held_since=None, hold_seconds=call.hold_seconds + max(held, 0.0))

    def _new_call(self, event: CallEvent, state: CallState) -> Call:
        return Call(
            call_id=event.call_id,
            ani=normalise_phone(event.ani, self._region) or event.ani,
            ani_raw=event.ani,
            dnis=normalise_phone(event.dnis, self._region) or event.dnis,
            queue=event.queue,
            campaign=event.campaign,
            state=state,
            offered_at=event.occurred_at,
            attributes=dict(event.attributes),
        )
