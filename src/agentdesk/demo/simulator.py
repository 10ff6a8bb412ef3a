"""Simulated calls: offered -> answered (after a ring) -> held / resumed -> ended, sent through the same intake as
real calls. The demo's phone answers by itself only when the desk says the agent is free (not on another call):
otherwise the call rings until the agent takes it, as on a real phone."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable, Sequence

from agentdesk.telephony.events import CallEvent, CallEventKind

log = logging.getLogger("agentdesk.demo")
UNKNOWN_CALLER_SHARE = 0.08


class CallSimulator:
    """Plays the phone system for the demo."""

    def __init__(
        self,
        intake: Callable[[CallEvent], object],
        caller_numbers: Sequence[str],
        dialed_numbers: Sequence[str],
        answer_after_seconds: float = 3.0,
        seed: int | None = None,
        may_answer: Callable[[str], bool] = lambda _call_id: True,
        first_call: tuple[str, str] | None = None,
    ) -> None:
        self._intake = intake
        self._callers = list(caller_numbers)
        self._dialed = list(dialed_numbers) or ["+18005550100"]
        self._answer_after = answer_after_seconds
        self._may_answer = may_answer  # asked when the ring is over: is the agent free for this call?
        self._first_call = first_call  # (caller, dialed) of the first call (the demo's showcase), then chance
        self._rng = random.Random(seed)
        self._pending: set[asyncio.Handle] = set()
        self._auto: asyncio.Task[None] | None = None

    def simulate_call(self, ani: str | None = None, dnis: str | None = None) -> str:
        """Offer a call (a known caller unless told otherwise); the demo phone answers it after a ring when the
        agent is free then."""
        if ani is None and self._first_call is not None:
            (ani, first_dnis), self._first_call = self._first_call, None
            dnis = dnis or first_dnis
        if ani is None:
            if self._callers and self._rng.random() > UNKNOWN_CALLER_SHARE:
                ani = self._rng.choice(self._callers)
            else:
                ani = f"+1202555{self._rng.randint(100, 199):04d}"
        call_id = f"demo-{uuid.uuid4().hex[:12]}"
        self._send(CallEventKind.OFFERED, call_id, ani, dnis or self._rng.choice(self._dialed))
        if self._answer_after >= 0:
            loop = asyncio.get_running_loop()
            handle = loop.call_later(self._answer_after, self._answer_if_free, call_id, ani)
            self._pending.add(handle)
        return call_id

    def _answer_if_free(self, call_id: str, ani: str) -> None:
        if self._may_answer(call_id):
            self._send(CallEventKind.ANSWERED, call_id, ani, "")

    def answer(self, call_id: str) -> None:
        self._send(CallEventKind.ANSWERED, call_id, "", "")

    def hold(self, call_id: str) -> None:
        self._send(CallEventKind.HELD, call_id, "", "")

    def resume(self, call_id: str) -> None:
        self._send(CallEventKind.RESUMED, call_id, "", "")

    def hang_up(self, call_id: str) -> None:
        self._send(CallEventKind.ENDED, call_id, "", "")

    def start_auto(self, every_seconds: float) -> None:
        """An automatic caller every N seconds (0 stops it)."""
        if self._auto:
            self._auto.cancel()
            self._auto = None
        if every_seconds > 0:
            self._auto = asyncio.get_running_loop().create_task(self._auto_calls(every_seconds))

    async def _auto_calls(self, every_seconds: float) -> None:
        while True:
            await asyncio.sleep(every_seconds)
            self.simulate_call()

    def stop(self) -> None:
        for handle in self._pending:
            handle.cancel()
        self._pending.clear()
        self.start_auto(0)

    def _send(self, kind: CallEventKind, call_id: str, ani: str, dnis: str) -> None:
        self._intake(CallEvent(kind=kind, call_id=call_id, ani=ani, dnis=dnis, source="demo"))
