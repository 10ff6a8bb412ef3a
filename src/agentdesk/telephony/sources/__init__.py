"""Call event sources: each turns an outside event stream into CallEvents for the CallIntake."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from enum import StrEnum

log = logging.getLogger("agentdesk.telephony")


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


async def skip_rest_of_line(reader: asyncio.StreamReader, buffered: int) -> None:
    """Discard an over-long line up to and including its newline, however much of it is still to come."""
    await reader.readexactly(buffered)
    while True:
        try:
            await reader.readuntil(b"\n")
            return
        except asyncio.LimitOverrunError as exc:
            await reader.readexactly(exc.consumed)


class LinkRefused(Exception):
    """The other side answered but will not let us in (bad credentials): retried slowly, shown to IT."""


class LinkedSource:
    """A call source that keeps one connection up: start and stop, the link state for the status bar, and
    reconnection with doubling backoff. Subclasses implement `_session`, which returns when the link closes."""

    task_prefix = "source"

    def __init__(self, name: str, on_link: LinkListener | None = None, max_backoff: float = 30.0) -> None:
        self.name = name
        self._on_link = on_link
        self._max_backoff = max_backoff
        self._task: asyncio.Task[None] | None = None
        self.state = LinkState.DOWN

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"{self.task_prefix}-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._set(LinkState.DOWN, "stopped")

    def _set(self, state: LinkState, detail: str = "") -> None:
        self.state = state
        if self._on_link:
            self._on_link(self.name, state, detail)

    async def _session(self, backoff: Backoff) -> None:
        raise NotImplementedError

    async def _run(self) -> None:
        backoff = Backoff(maximum=self._max_backoff)
        while True:
            self._set(LinkState.CONNECTING)
            try:
                await self._session(backoff)
                state, detail = LinkState.DOWN, "closed by the server"
            except LinkRefused as exc:
                state, detail = LinkState.REFUSED, str(exc)
                backoff = Backoff(initial=self._max_backoff, maximum=self._max_backoff)  # no retry storm
            except Exception as exc:  # refused, reset, handshake failed...: keep trying, say why (never the data)
                state, detail = LinkState.DOWN, type(exc).__name__
                log.info("call source %s: link down (%s)", self.name, detail)
            delay = backoff.next()
            self._set(state, f"{detail}; retrying in {delay:.1f} s")
            await asyncio.sleep(delay)
