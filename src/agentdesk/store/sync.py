"""The outbox: what a desk stored locally reaches the central store, and what other desks decided reaches this
one. Local first, always: a desk that cannot reach the central store keeps working and catches up later."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from agentdesk.records.decisions import IdentityDecision
from agentdesk.store.central import SYNCED_TABLES, CentralStore, CentralStoreError
from agentdesk.store.local import LocalStore

log = logging.getLogger("agentdesk.store")
# Transactions commit out of the order their now() gave them: look back this far and skip what is known.
PULL_OVERLAP = timedelta(seconds=60)


@dataclass(frozen=True)
class SyncReport:
    pushed: int
    pulled: int


class OutboxSync:
    def __init__(
        self,
        local: LocalStore,
        central: CentralStore,
        on_decisions: Callable[[list[IdentityDecision]], None],
        on_health: Callable[[bool, str], None] | None = None,
        interval_seconds: float = 10.0,
    ) -> None:
        self._local = local
        self._central = central
        self._on_decisions = on_decisions
        self._on_health = on_health
        self._interval = interval_seconds
        self._pulled_until: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    async def sync_once(self) -> SyncReport:
        """Push every unsynced row, then pull other desks' decisions. Raises CentralStoreError."""
        pushed = 0
        for table in SYNCED_TABLES:
            rows = await self._local.unsynced(table)
            if rows:
                await asyncio.to_thread(self._central.push, table, rows)
                await self._local.mark_synced(table, [str(r["id"]) for r in rows])
                pushed += len(rows)
        since = self._pulled_until - PULL_OVERLAP if self._pulled_until else None
        rows = await asyncio.to_thread(self._central.decisions_since, since)
        fresh = await self._local.add_pulled_decisions(rows)
        if rows:
            self._pulled_until = max(r["received_at"] for r in rows)
        if fresh:
            self._on_decisions(fresh)
        return SyncReport(pushed, len(fresh))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sync_once(), 5)  # last push on the way out; the outbox keeps the rest
        await asyncio.to_thread(self._central.dispose)

    async def _run(self) -> None:
        try:
            await asyncio.to_thread(self._central.check_schema)
        except CentralStoreError as exc:
            self._health(False, str(exc))
        while True:
            try:
                report = await self.sync_once()
                self._health(
                    True, f"synced {datetime.now():%H:%M}" + (f", {report.pulled} new" if report.pulled else "")
                )
            except CentralStoreError as exc:
                self._health(False, f"{exc}; retrying")
            except Exception as exc:  # keep syncing through a bug in one round; the outbox keeps the rows
                log.exception("outbox sync failed")
                self._health(False, f"sync failed ({type(exc).__name__}); retrying")
            await asyncio.sleep(self._interval)

    def _health(self, ok: bool, detail: str) -> None:
        if self._on_health:
            self._on_health(ok, detail)
