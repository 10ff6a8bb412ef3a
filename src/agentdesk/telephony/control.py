"""Driving a phone from the desk: what the desk asks of a phone it can control (the demo's simulated phone today;
a softphone or a CTI integration could do the same). A phone answers these asynchronously: its call events come
back through the intake like any other, so the desk's view always follows what the phone really did."""

from __future__ import annotations

from typing import Protocol


class CallControl(Protocol):
    def answer(self, call_id: str) -> None: ...

    def hold(self, call_id: str) -> None: ...

    def resume(self, call_id: str) -> None: ...

    def hang_up(self, call_id: str) -> None: ...
