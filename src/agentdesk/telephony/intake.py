"""The single entry of every call source: good events go to the desk, rejected ones are counted by reason.

It also watches each source's clock: the difference between a source's timestamps and this desk's clock at
receipt (median of the last few events, so one late retry does not count) is the source's clock skew, shown in
the status bar when it is more than a few seconds.
"""

from __future__ import annotations

import logging
import statistics
from collections import Counter, deque
from collections.abc import Callable

from agentdesk.base.listeners import Listeners
from agentdesk.base.time import utc_now
from agentdesk.telephony.events import CallEvent

log = logging.getLogger("agentdesk.telephony")
SKEW_SAMPLES = 15
SKEW_NOTICE_SECONDS = 5.0


class CallIntake:
    def __init__(self, deliver: Callable[[CallEvent], object]) -> None:
        self._deliver = deliver
        self.accepted: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()  # well-formed, but not call events (probes, keep-alives)
        self._listeners: Listeners[[]] = Listeners()
        self._skews: dict[str, deque[float]] = {}

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Told after every accepted or rejected event (for the status bar's counters)."""
        self._listeners.append(listener)

    def accept(self, event: CallEvent) -> None:
        self.accepted[event.source] += 1
        if event.stamped:
            samples = self._skews.setdefault(event.source, deque(maxlen=SKEW_SAMPLES))
            samples.append((event.occurred_at - utc_now()).total_seconds())
        self._deliver(event)
        self._notify()

    def reject(self, source: str, reason: str) -> None:
        """Count and log a rejected event. `reason` is a fixed phrase; never pass the payload."""
        self.rejected[reason] += 1
        log.warning("rejected a call event from %s: %s", source, reason)
        self._notify()

    def ignore(self, reason: str) -> None:
        self.ignored[reason] += 1

    def clock_skew(self, source: str) -> float | None:
        """How far the source's clock is ahead of this desk's (negative: behind), in seconds; None if unknown."""
        samples = self._skews.get(source)
        return statistics.median(samples) if samples else None

    def skewed_sources(self, threshold: float = SKEW_NOTICE_SECONDS) -> dict[str, float]:
        """Sources whose clock is off by more than `threshold` seconds, with their skew."""
        found = {source: self.clock_skew(source) for source in self._skews}
        return {source: skew for source, skew in found.items() if skew is not None and abs(skew) > threshold}

    def _notify(self) -> None:
        self._listeners()
