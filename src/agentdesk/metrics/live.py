"""Keeps the team monitor's snapshot current off the GUI thread (no Qt here; the window wraps the callbacks).

A reader thread re-reads the whole snapshot whenever it is woken: by a PostgreSQL change notification (LISTEN on
the channel the central schema's triggers NOTIFY), by the period changing, or by the poll interval passing (the
fallback when notifications are not available: a local store, a proxy that drops them, a lost listener). Reads
that fail leave the last snapshot in place and report since when it is stale; the next wake retries, so a store
that comes back is picked up by itself.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from agentdesk.base.time import utc_now
from agentdesk.metrics.board import AgentRow, changed_rows
from agentdesk.metrics.definitions import MetricOptions, TimeRange
from agentdesk.metrics.growth import GrowthView
from agentdesk.metrics.snapshot import Period, Snapshot, read_snapshot

log = logging.getLogger("agentdesk.metrics")
CHANNEL = "agentdesk_changes"


@dataclass(frozen=True)
class FeedHealth:
    ok: bool
    live: bool  # change notifications arrive (else: polling)
    stale_since: datetime | None  # the last good read, when the latest failed
    detail: str


class LiveFeed:
    def __init__(
        self,
        engine: sa.Engine,
        options: MetricOptions,
        on_snapshot: Callable[[Snapshot], None],
        on_health: Callable[[FeedHealth], None],
        poll_seconds: float = 5.0,
        agent_ids: list[str] | None = None,
        clock: Callable[[], datetime] = utc_now,
        service_lines: Callable[[], dict[str, str]] = dict,
        growth_seconds: float = 30.0,
    ) -> None:
        """`service_lines` (campaign -> service line, read from the campaign files) is called once, on the reader
        thread; the growth section is re-read at most every `growth_seconds` (or when the period changes): it
        joins bookings to callers' earlier calls, more than a live refresh needs every time."""
        self._engine = engine
        self._options = options
        self._on_snapshot = on_snapshot
        self._on_health = on_health
        self._poll = poll_seconds
        self._agent_ids = agent_ids
        self._clock = clock
        self.period: Period | TimeRange = Period.TODAY  # a custom period is a range of local days
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._listening = False
        self._last_ok: datetime | None = None
        self._threads: list[threading.Thread] = []
        self._listener: Any = None
        self._previous_agents: list[AgentRow] = []
        self._service_lines = service_lines
        self._lines: dict[str, str] | None = None
        self._growth_seconds = growth_seconds
        self._growth: tuple[object, float, GrowthView | None] = (None, 0.0, None)  # period, when read, growth
        self.reads = 0

    def start(self) -> None:
        self._threads.append(threading.Thread(target=self._read_loop, name="monitor-reader", daemon=True))
        if self._engine.dialect.name == "postgresql":
            self._threads.append(threading.Thread(target=self._listen_loop, name="monitor-listener", daemon=True))
        for thread in self._threads:
            thread.start()

    @property
    def listening(self) -> bool:
        """Change notifications arrive (else the feed polls)."""
        return self._listening

    def refresh_now(self, period: Period | TimeRange | None = None) -> None:
        if period is not None:
            self.period = period
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        listener = self._listener
        if listener is not None:
            with contextlib.suppress(Exception):  # closing a broken connection on the way out
                listener.close()
        for thread in self._threads:
            thread.join(timeout=10)

    # -- reading ---------------------------------------------------------------------------------------------
    def _read_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            self._read_once()
            # With notifications, polling only guards against a silently dead listener.
            self._wake.wait(self._poll * 6 if self._listening else self._poll)

    def _read_once(self) -> None:
        try:
            if self._lines is None:
                self._lines = self._service_lines()
            period, read_at, growth = self._growth
            due = period != self.period or time.monotonic() - read_at >= self._growth_seconds
            with self._engine.begin() as connection:  # keeps the call summaries it brought up to date
                snapshot = read_snapshot(
                    connection, self._clock(), self._options, self.period, self._agent_ids, self._lines if due else None
                )
            if due:
                self._growth = (self.period, time.monotonic(), snapshot.growth)
            else:
                snapshot = replace(snapshot, growth=growth)
        except Exception as exc:  # the store is down or unreachable: keep the last figures, say how old they are
            log.warning("monitor read failed: %s", type(exc).__name__)
            self._health(False, f"store unreachable ({type(exc).__name__}); retrying")
            return
        self.reads += 1
        self._last_ok = snapshot.read_at
        # Diffed here, on the reader thread: the window then repaints only the agents whose row changed.
        snapshot = replace(snapshot, changed_agents=changed_rows(self._previous_agents, snapshot.board.agents))
        self._previous_agents = snapshot.board.agents
        if not self._stopping.is_set():
            self._health(True, "live" if self._listening else f"polling every {self._poll:g} s")
            self._on_snapshot(snapshot)

    def _health(self, ok: bool, detail: str) -> None:
        self._on_health(FeedHealth(ok, self._listening, None if ok else self._last_ok, detail))

    # -- change notifications (PostgreSQL) ---------------------------------------------------------------------
    def _listen_loop(self) -> None:
        import psycopg

        url = self._engine.url
        while not self._stopping.is_set():
            try:
                with psycopg.connect(
                    host=url.host,
                    port=url.port,
                    user=url.username,
                    password=url.password,
                    dbname=url.database,
                    autocommit=True,
                    connect_timeout=5,
                ) as connection:
                    self._listener = connection
                    connection.execute(f"LISTEN {CHANNEL}")
                    self._listening = True
                    self._wake.set()  # read what changed while we were not listening
                    while not self._stopping.is_set():
                        for _ in connection.notifies(timeout=1.0, stop_after=1):
                            self._wake.set()
            except Exception as exc:
                if self._stopping.is_set():
                    break
                log.info("monitor change notifications unavailable (%s); polling", type(exc).__name__)
            finally:
                self._listener = None
                self._listening = False
            self._stopping.wait(self._poll)
