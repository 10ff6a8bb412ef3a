"""The desk's housekeeping: calls that rang too long end, a view held past its wrap-up limit is released, old
ended calls are forgotten; never one whose wrap-up is still due (only the agent closes that)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from agentdesk.desk.current import CurrentCall
from agentdesk.telephony.calls import CallState

FORGET_AFTER = timedelta(hours=1)


class Housekeeping(CurrentCall):
    async def keep_house(self, every_seconds: float = 1.0) -> None:
        """Runs for the desk's lifetime (cancel it to stop): calls that rang too long end, old ones are forgotten."""
        while True:
            await asyncio.sleep(every_seconds)
            self.expire_calls(self.monotonic())

    def expire_calls(self, now: float | None = None) -> None:
        """End calls that rang too long, release a view held past its wrap-up limit, forget old ended calls.
        `now` is a reading of the desk's monotonic clock (default: now): a source's skew never shortens a ring."""
        now = self.monotonic() if now is None else now
        self.tracker.expire(now)
        current = self.current
        if (
            current is not None
            and self.wrapup.required
            and not current.wrapped_up
            and not self._holds_view(current, now)
        ):
            self._release_view()
        if self.tracker.forget_ended(now - FORGET_AFTER.total_seconds()):
            ended = [cid for cid, c in self.contexts.items() if c.call.state is CallState.ENDED]
            for call_id in ended:
                if call_id in self._unwrapped:
                    continue  # still listed, however old
                if self.contexts[call_id] is not self.current and self.tracker.get(call_id) is None:
                    context = self.contexts.pop(call_id)
                    if self._by_caller.get(context.call.ani) is context:
                        del self._by_caller[context.call.ani]
