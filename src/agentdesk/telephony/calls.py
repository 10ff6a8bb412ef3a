"""The call state machine: turns a stream of (late, repeated, out-of-order) events into consistent calls.

offered -> answered -> [held <-> answered]* -> ended. A repeated event is ignored; an event that would move a
call backwards (answered after ended) is ignored and counted; an `answered` for a call never offered starts the
call in the answered state (the offered event was lost), because the agent is evidently talking to someone.

Two clocks (see CallEvent): the timestamps kept on a call are the phone system's, as it sent them; every duration
(hold time) and timeout (ring timeout) counts on this desk's monotonic clock from receipt, so a phone system whose
clock runs minutes fast or slow (or jumps) cannot end a ringing call early or make hold time negative.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from agentdesk.base.listeners import Listeners
from agentdesk.base.phone import normalise_phone
from agentdesk.telephony.caller_id import read_caller_id
from agentdesk.telephony.events import CallEvent, CallEventKind
from agentdesk.telephony.parsing import clean_free_text

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
    ani_note: str = ""  # why there is no number to look up: anonymous, restricted, not a number, too long...
    # This desk's monotonic clock (time.monotonic) at receipt of the events: durations and timeouts use these.
    offered_clock: float = field(default_factory=time.monotonic)
    answered_clock: float | None = None
    ended_clock: float | None = None
    held_clock: float | None = None

    def ring_seconds(self, now: float | None = None) -> float:
        """Seconds from the offer to the answer (or the end, or now), on the desk's clock."""
        return max(self._until(now, self.answered_clock) - self.offered_clock, 0.0)

    def talk_seconds(self, now: float | None = None) -> float | None:
        """Seconds from the answer to the end (or now), on the desk's clock; None before an answer."""
        if self.answered_clock is None:
            return None
        return max(self._until(now) - self.answered_clock, 0.0)

    def ended_here(self) -> datetime | None:
        """When the call ended by this desk's wall clock (timers that run from the hang-up count from this, not
        from the phone system's possibly skewed stamp); None while it lasts."""
        if self.ended_clock is None:
            return self.ended_at
        return datetime.now(UTC) - timedelta(seconds=max(time.monotonic() - self.ended_clock, 0.0))

    def _until(self, now: float | None, stop: float | None = None) -> float:
        for mark in (stop, self.ended_clock, now):
            if mark is not None:
                return mark
        return time.monotonic()


CallListener = Callable[[Call, CallEvent], None]


MAX_REASON = 32  # the store's column


class CallTracker:
    """Applies call events; tells listeners about every change. The single entry for every call source."""

    def __init__(
        self, default_region: str = "US", own_agent_ids: Iterable[str] = (), ring_timeout_seconds: float = 90.0
    ) -> None:
        self._region = default_region
        self._own_ids = {agent.casefold() for agent in own_agent_ids}
        self.ring_timeout = timedelta(seconds=ring_timeout_seconds)
        self._calls: dict[str, Call] = {}
        self._active: dict[str, Call] = {}  # kept in step with _calls: per-event work never scans every call
        self._on_line: set[str] = set()  # talking or on hold
        # Talking only, kept apart so that answering one call with hundreds on hold does not scan them (issue 9:
        # per-event work O(1) in the number of calls); a dict for its order.
        self._talking: dict[str, None] = {}
        self._listeners: Listeners[[Call, CallEvent]] = Listeners()
        self.ignored: Counter[str] = Counter()

    def subscribe(self, listener: CallListener) -> None:
        self._listeners.append(listener)

    def get(self, call_id: str) -> Call | None:
        return self._calls.get(call_id)

    @property
    def active_calls(self) -> list[Call]:
        return list(self._active.values())

    @property
    def active_count(self) -> int:
        return len(self._active)

    @property
    def on_line(self) -> bool:
        """Whether the agent is talking on (or holding) any call."""
        return bool(self._on_line)

    def talking(self) -> list[Call]:
        """The calls the agent is talking on (normally at most one: see Desk, which holds the others)."""
        return [self._calls[call_id] for call_id in self._talking]

    def first_active(self) -> Call | None:
        """The longest-known call that has not ended."""
        return next(iter(self._active.values()), None)

    def ingest(self, event: CallEvent) -> Call | None:
        """Apply one event; returns the changed call, or None when the event was ignored (and counted)."""
        current = self._calls.get(event.call_id)
        updated = self._apply(current, event)
        if updated is None or updated == current:
            return None
        self._store(updated, event)
        return updated

    def expire(self, now: float | None = None) -> list[Call]:
        """End calls that rang past the ring timeout on this desk's clock (their 'answered' or 'ended' never came).
        `now` is a time.monotonic() reading."""
        now = time.monotonic() if now is None else now
        limit = self.ring_timeout.total_seconds()
        expired = [c for c in self._active.values() if c.state is CallState.RINGING and now - c.offered_clock > limit]
        changed = []
        for call in expired:
            # Stored in the phone system's time line: when it offered the call, plus how long it rang here.
            ended_at = call.offered_at + timedelta(seconds=now - call.offered_clock)
            event = CallEvent(
                CallEventKind.ENDED, call.call_id, source="ring timeout", occurred_at=ended_at, received_at=now
            )
            updated = replace(
                call, state=CallState.ENDED, ended_at=ended_at, ended_clock=now, end_reason="ring timeout"
            )
            self._store(updated, event)
            changed.append(updated)
        return changed

    def forget_ended(self, before: float) -> int:
        """Drop calls that ended before `before` (a time.monotonic() reading), so a desktop that runs all week
        does not grow without bound."""
        old = [
            cid
            for cid, c in self._calls.items()
            if c.state is CallState.ENDED and (c.ended_clock if c.ended_clock is not None else before) < before
        ]
        for call_id in old:
            del self._calls[call_id]
        return len(old)

    def _store(self, call: Call, event: CallEvent) -> None:
        self._calls[call.call_id] = call
        if call.state is CallState.ENDED:
            self._active.pop(call.call_id, None)
        else:
            self._active[call.call_id] = call
        if call.state in (CallState.TALKING, CallState.HELD):
            self._on_line.add(call.call_id)
        else:
            self._on_line.discard(call.call_id)
        if call.state is CallState.TALKING:
            self._talking[call.call_id] = None
        else:
            self._talking.pop(call.call_id, None)
        self._listeners(call, event)

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
                new = self._new_call(event, CallState.TALKING)
                return replace(new, answered_at=event.occurred_at, answered_clock=event.received_at)
            self._ignore("event for a call that never started", event)
            return None
        if call.state is CallState.ENDED:
            if kind is CallEventKind.OFFERED and call.end_reason == "ring no answer":
                return self._new_call(event, CallState.RINGING)  # the queue rings this agent again: pop again
            if kind is not CallEventKind.ENDED:
                self._ignore("event after the call ended", event)
            return None
        at, clock = event.occurred_at, event.received_at
        if kind is CallEventKind.OFFERED:
            return None  # a repeat; the call is already known
        if kind is CallEventKind.ANSWERED:
            if call.state is CallState.RINGING and self._answered_elsewhere(event):
                # Ring-all: another agent took it; it leaves this desktop.
                return self._end(call, event, "answered elsewhere")
            if call.state is CallState.RINGING:
                return replace(call, state=CallState.TALKING, answered_at=at, answered_clock=clock)
            if call.state is CallState.HELD:  # some systems send 'answered' when a held call resumes
                return self._resume(call, clock)
            return None
        if kind is CallEventKind.HELD:
            if call.state is CallState.TALKING:
                return replace(call, state=CallState.HELD, held_since=at, held_clock=clock)
            if call.state is CallState.RINGING:
                self._ignore("hold before answer", event)
            return None
        if kind is CallEventKind.RESUMED:
            return self._resume(call, clock) if call.state is CallState.HELD else None
        if kind is CallEventKind.ENDED:
            if call.state is CallState.HELD:
                call = self._resume(call, clock)
            reason = event.attributes.get("reason") or ("abandoned" if call.state is CallState.RINGING else "hung up")
            return self._end(call, event, reason)
        if kind is CallEventKind.TRANSFERRED:
            if call.state is CallState.HELD:
                call = self._resume(call, clock)
            return self._end(call, event, "transferred")
        return None

    @staticmethod
    def _end(call: Call, event: CallEvent, reason: str) -> Call:
        return replace(
            call,
            state=CallState.ENDED,
            ended_at=event.occurred_at,
            ended_clock=event.received_at,
            end_reason=clean_free_text(reason)[:MAX_REASON],  # a source's free text: stored, so bounded
        )

    @staticmethod
    def _resume(call: Call, clock: float) -> Call:
        held = clock - call.held_clock if call.held_clock is not None else 0.0
        return replace(
            call,
            state=CallState.TALKING,
            held_since=None,
            held_clock=None,
            hold_seconds=call.hold_seconds + max(held, 0.0),
        )

    def _new_call(self, event: CallEvent, state: CallState) -> Call:
        ani, note = read_caller_id(event.ani, self._region, event.ani_truncated)
        return Call(
            call_id=event.call_id,
            ani=ani,
            ani_raw=event.ani,
            ani_note=note,
            dnis=normalise_phone(event.dnis, self._region) or event.dnis,
            queue=event.queue,
            campaign=event.campaign,
            state=state,
            offered_at=event.occurred_at,
            offered_clock=event.received_at,
            attributes=dict(event.attributes),
        )
