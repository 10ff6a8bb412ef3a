"""The single entry of every call source: good events go to the desk, rejected ones are counted by reason."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from agentdesk.telephony.events import CallEvent

log = logging.getLogger("agentdesk.telephony")


class CallIntake:
    def __init__(self, deliver: Callable[[CallEvent], object]) -> None:
        self._deliver = deliver
        self.accepted: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()  # well-formed, but not call events (probes, keep-alives)
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Told after every accepted or rejected event (for the status bar's counters)."""
        self._listeners.append(listener)

    def accept(self, event: CallEvent) -> None:
        self.accepted[event.source] += 1
        self._deliver(event)
        self._notify()

    def reject(self, source: str, reason: str) -> None:
        """Count and log a rejected event. `reason` is a fixed phrase; never pass the payload."""
        self.rejected[reason] += 1
        log.warning("rejected a call event from %s: %s", source, reason)
        self._notify()

    def ignore(self, reason: str) -> None:
        self.ignored[reason] += 1

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()
