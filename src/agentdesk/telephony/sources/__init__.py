"""Call event sources: each turns an outside event stream into CallEvents for the CallIntake."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum


class LinkState(StrEnum):
    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"
    REFUSED = "refused"  # e.g. bad credentials: retried slowly, shown to IT


LinkListener = Callable[[str, LinkState, str], None]  # source name, state, detail (no patient data)


class Backoff:
    """Doubling reconnect delays with a cap; a successful connection resets it."""

    def __init__(self, initial: float = 0.5, maximum: float = 30.0) -> None:
        self._initial = min(initial, maximum)
        self._maximum = maximum
        self._next = self._initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self._maximum)
        return delay

    def reset(self) -> None:
        self._next = self._initial
