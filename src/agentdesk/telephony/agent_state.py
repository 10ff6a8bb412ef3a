"""The agent's own state (Available, Not Ready with a reason, On Call, Wrap-up) and how long it has lasted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from agentdesk.base.listeners import Listeners
from agentdesk.base.time import utc_now


class AgentState(StrEnum):
    AVAILABLE = "available"
    NOT_READY = "not_ready"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


@dataclass(frozen=True, slots=True)
class AgentStatus:
    state: AgentState
    reason: str
    since: datetime

    @property
    def label(self) -> str:
        names = {
            AgentState.AVAILABLE: "Available",
            AgentState.NOT_READY: "Not Ready",
            AgentState.ON_CALL: "On Call",
            AgentState.WRAP_UP: "Wrap-up",
        }
        return f"{names[self.state]}: {self.reason}" if self.reason else names[self.state]


class AgentStateMachine:
    """Holds the current state; calls move it (On Call, Wrap-up), the agent moves it too."""

    def __init__(self, reasons: list[str], clock: Callable[[], datetime] = utc_now) -> None:
        self.reasons = list(reasons)
        self._clock = clock
        self.status = AgentStatus(AgentState.NOT_READY, reasons[0] if reasons else "", clock())
        self._listeners: Listeners[[AgentStatus, AgentStatus]] = Listeners()

    def subscribe(self, listener: Callable[[AgentStatus, AgentStatus], None]) -> None:
        """listener(previous, current) after every change."""
        self._listeners.append(listener)

    def set(self, state: AgentState, reason: str = "") -> AgentStatus:
        if state is AgentState.NOT_READY and reason not in self.reasons:
            raise ValueError(f"reason: '{reason}' is not one of the configured Not Ready reasons")
        if state is not AgentState.NOT_READY:
            reason = ""
        if (state, reason) == (self.status.state, self.status.reason):
            return self.status
        previous, self.status = self.status, AgentStatus(state, reason, self._clock())
        self._listeners(previous, self.status)
        return self.status

    def call_started(self) -> None:
        self.set(AgentState.ON_CALL)

    def call_ended(self) -> None:
        if self.status.state is AgentState.ON_CALL:
            self.set(AgentState.WRAP_UP)

    def wrap_up_done(self) -> None:
        if self.status.state is AgentState.WRAP_UP:
            self.set(AgentState.AVAILABLE)
