"""The outbox: what a desk stored locally reaches the central store, exactly once, and what other desks decided
reaches this one. Local first, always: a desk that cannot reach the central store keeps working, retries with
capped exponential backoff and jitter, and catches up later (after a restart too: the outbox is the tables)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from agentdesk.base.backoff import Backoff
from agentdesk.base.time import utc_now
from agentdesk.records.decisions import IdentityDecision
from agentdesk.store.central import CentralStore, CentralStoreError
from agentdesk.store.local import LocalStore
from agentdesk.store.outbox import OUTBOX_TABLES, OutboxBatch, OutboxTable

log = logging.getLogger("agentdesk.store")
# Transactions commit out of the order their now() gave them: look back this far and skip what is known.
PULL_OVERLAP = timedelta(seconds=60)
STOP_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class SyncReport:
    pushed: int
    pulled: int


@dataclass(frozen=True)
class SyncStatus:
    """What the status bar shows: synced / N pending / offline since HH:MM."""

    pending: int
    offline_since: datetime | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.offline_since is None

    @property
    def text(self) -> str:
        if self.offline_since is not None:
            since = self.offline_since.astimezone().strftime("%H:%M")
            return f"offline since {since}" + (f", {self.pending} pending" if self.pending else "")
        return f"{self.pending} pending" if self.pending else "synced"


class OutboxSync:
    BATCH = 5000  # rows per push: one COPY and one INSERT ... SELECT each
    FIRST_BATCH = 500

    def __init__(
        self,
        local: LocalStore,
        central: CentralStore,
        on_decisions: Callable[[list[IdentityDecision]], None],
        on_status: Callable[[SyncStatus], None] | None = None,
        interval_seconds: float = 10.0,
        tables: tuple[OutboxTable, ...] = OUTBOX_TABLES,
        batch_size: int = BATCH,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._local = local
        self._central = central
        self._on_decisions = on_decisions
        self._on_status = on_status
        self._interval = interval_seconds
        self.tables = tables
        self._batch = batch_size
        self._backoff = backoff or Backoff()
        self._rng = rng or random.Random()
        self._pulled_until: datetime | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.failures = 0
        self.status = SyncStatus(0)
        self._stopping = False

    async def sync_once(self) -> SyncReport:
        """Push every unsynced row (parents first, in batches), then pull other desks' decisions.
        Raises CentralStoreError; what was pushed before the failure stays marked, the rest waits."""
        pushed = 0
        for table in self.tables:
            pushed += await self._push_table(table)
        since = self._pulled_until - PULL_OVERLAP if self._pulled_until else None
        rows = await asyncio.to_thread(self._central.decisions_since, since)
        fresh = await self._local.add_pulled_decisions(rows)
        if rows:
            self._pulled_until = max(r["received_at"] for r in rows)
        if fresh:
            self._on_decisions(fresh)
        return SyncReport(pushed, len(fresh))

    async def _push_table(self, table: OutboxTable) -> int:
        """Every unsynced row of one table, in batches, as a pipeline: while batch N is pushed (a worker thread and
        the network), the store's thread marks batch N-1 synced and reads batch N+1 (the rows stored after N's last).
        A batch is marked only after its push committed; on a failure the marks in flight finish, nothing more.
        The first batches are smaller (FIRST_BATCH rows, doubling up to the batch size): nothing overlaps the first
        read, so a short one starts the pipeline sooner."""
        pushed = 0
        marking: asyncio.Future[None] | None = None
        size = min(self._batch, self.FIRST_BATCH)
        rows = await self._local.outbox_batch(table, size)
        try:
            while rows:
                sending = asyncio.ensure_future(asyncio.to_thread(self._central.push, table, rows))
                following: asyncio.Future[OutboxBatch] | None = None
                if len(rows) == size:
                    size = min(self._batch, size * 2)
                    following = asyncio.ensure_future(self._local.outbox_batch(table, size, rows.last))
                try:
                    await sending
                except BaseException:
                    if following is not None:
                        following.cancel()
                        await asyncio.gather(following, return_exceptions=True)
                    raise
                if marking is not None:
                    await marking
                marking = asyncio.ensure_future(self._local.mark_synced(table, rows))
                pushed += len(rows)
                if following is None:
                    break
                rows = await following
        finally:
            if marking is not None:
                await marking
        return pushed

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox-sync")

    def sync_now(self) -> None:
        """The agent's "Sync now": try at once, whatever the backoff said."""
        self._wake.set()

    async def stop(self) -> None:
        """Let the round in flight finish (cancelling it would leave its worker thread holding a connection past
        the dispose), push once more on the way out, then close the connections. The outbox keeps the rest."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_WAIT_SECONDS)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            except Exception:  # the loop's own failures were reported as they happened
                log.debug("outbox loop ended with an error", exc_info=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sync_once(), STOP_WAIT_SECONDS)
        await asyncio.to_thread(self._central.dispose)

    async def _run(self) -> None:
        try:
            await asyncio.to_thread(self._central.check_schema)
        except CentralStoreError as exc:
            await self._report(str(exc))
        while not self._stopping:
            await self._round()
            delay = self._interval if self.failures == 0 else self._backoff.delay(self.failures, self._rng)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()

    async def _round(self) -> None:
        try:
            await self.sync_once()
        except CentralStoreError as exc:
            self.failures += 1
            await self._report(f"{exc}; retrying")
            return
        except Exception as exc:  # keep syncing through a bug in one round; the outbox keeps the rows
            log.exception("outbox sync failed")
            self.failures += 1
            await self._report(f"sync failed ({type(exc).__name__}); retrying")
            return
        self.failures = 0
        await self._report("")

    async def _report(self, problem: str) -> None:
        try:
            waiting = await self._local.pending(self.tables)
        except Exception:  # the count is for the status bar only
            waiting = self.status.pending
        offline = None if not problem else (self.status.offline_since or utc_now())
        self.status = SyncStatus(waiting, offline, problem)
        if self._on_status:
            self._on_status(self.status)
