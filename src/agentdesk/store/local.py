"""The local store: a SQLite file in the user data folder, every write through one writer thread.

WAL keeps readers off the writer's back; synchronous=FULL makes a committed disposition survive a power cut,
so the UI says "saved" only after the row is on disk. How the file is opened (user-only, optionally encrypted,
migrated atomically, moved aside when unreadable) is in `opening`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from agentdesk.base.ids import new_row_id
from agentdesk.base.listeners import Listeners
from agentdesk.base.time import utc_now
from agentdesk.records.decisions import Decision, IdentityDecision
from agentdesk.store.audit import AuditEntry
from agentdesk.store.dispositions import Disposition

if TYPE_CHECKING:
    import sqlalchemy as sa

    from agentdesk.campaigns.funnel import RunFacts
    from agentdesk.campaigns.runner import ScriptRun
    from agentdesk.store.checkpoints import Checkpointer
    from agentdesk.store.outbox import OutboxBatch, OutboxTable
    from agentdesk.store.outcomes import Outcomes, WrapUpForm

# SQLAlchemy and Alembic are imported on the writer thread when the store opens, not at import time:
# the main window is on screen before they load.

log = logging.getLogger("agentdesk.store")
AUDIT_FIELDS = ("id", "agent_id", "action", "patient_key", "call_id", "detail", "at")
T = TypeVar("T")
MIGRATIONS = Path(__file__).with_name("migrations")
GROUP_COMMIT_SECONDS = 0.02  # under a stream of log rows: at most ~50 commits a second


def upgrade_schema(engine: sa.Engine) -> None:
    """Apply every Alembic migration up to head."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class LocalStore:
    """Async facade over a synchronous SQLAlchemy engine; one worker thread does all the I/O, in order."""

    def __init__(self, path: Path, key_credential: str = "") -> None:
        self.path = path
        self._key_credential = key_credential  # keychain entry of the SQLCipher passphrase; "" = plain SQLite
        self.moved_aside: Path | None = None  # an unreadable earlier store, kept under this name
        self.workstation = ""  # the audit chain's name (store/audit.py), read when the store opens
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-store")
        self._queued: list[tuple[str, dict[str, Any]]] = []
        self._batch_done: asyncio.Future[None] | None = None
        self.on_write_error: Listeners[[BaseException]] = Listeners()
        self._flushing: asyncio.Task[None] | None = None
        self._last_commit = -GROUP_COMMIT_SECONDS  # loop time when the last batch of log rows started
        self._engine: sa.Engine | None = None
        self._checkpoints: Checkpointer | None = None  # WAL checkpoints beside the writer (the desk's store)
        # FHIR backends that get each saved booking and referral (store/writeback.py): queued in the save's own
        # transaction, so a booking is never saved without its write.
        self.write_back: tuple[str, ...] = ()
        self.on_saved: Listeners[[Disposition]] = Listeners()  # a wrap-up is on disk (told on the event loop)

    # -- lifecycle ---------------------------------------------------------------------------------------
    async def open(self) -> None:
        await self._run(self._open, True)

    def open_here(self) -> None:
        """Open on the calling thread (a headless command that only reads, with no event loop)."""
        self._open()

    def _open(self, checkpoint_apart: bool = False) -> None:
        from agentdesk.store.opening import open_store

        key = None
        if self._key_credential:
            from agentdesk.config.credentials import CredentialMissing, ensure_token
            from agentdesk.store.opening import StoreUnusable

            try:
                key = ensure_token(self._key_credential)  # made on first use, like the webhook token
            except CredentialMissing as exc:
                raise StoreUnusable(f"store.encryption_credential: {exc}") from None
        opened = open_store(self.path, key, upgrade_schema, checkpoint_apart)
        self._engine, self.moved_aside = opened.engine, opened.moved_aside
        if checkpoint_apart:
            from agentdesk.store.checkpoints import Checkpointer

            self._checkpoints = Checkpointer(self._engine)
            self._checkpoints.start()
        from agentdesk.store.audit import workstation_id

        with self._engine.begin() as connection:
            self.workstation = workstation_id(connection)
        log.info("local store ready%s", " (encrypted)" if key else "")

    async def flush(self) -> None:
        """Wait until every queued log row (call events, audit) is on disk."""
        while self._flushing is not None and not self._flushing.done():
            await asyncio.shield(self._flushing)

    def write_now(self, timeout: float = 3.0) -> bool:
        """Write the queued log rows on the writer thread and wait for them (and for any batch already being
        written) here, on the calling thread. For the one moment waiting is right: the session is ending
        (Windows' WM_ENDSESSION) and the process may be killed as soon as the caller returns. True when all of
        it is on disk within `timeout`."""
        batch, done = self._queued, self._batch_done
        self._queued, self._batch_done = [], None
        if self._engine is None:
            return not batch
        try:
            # One writer thread: this job runs after whatever batch is in flight, so its end means all of it.
            job = self._writer.submit(self._insert_isolating, batch) if batch else self._writer.submit(list)
        except RuntimeError:  # closed: close() wrote everything queued before it
            return not batch
        try:
            dropped = job.result(timeout)
        except Exception as exc:  # the disk, a timeout: say so; the session ends either way
            log.error("writing %d log row(s) at session end failed: %s", len(batch), type(exc).__name__)
            if done is not None and not done.done():
                done.set_exception(exc)
                done.exception()
            return False
        if done is not None and not done.done():
            done.set_result(None)
        return not dropped

    async def close(self) -> None:
        if self._flushing is not None and not self._flushing.done():
            await self._flushing  # rows queued before closing still reach the disk
        if self._checkpoints is not None:
            await asyncio.to_thread(self._checkpoints.stop)
        if self._engine is not None:
            await self._run(self._engine.dispose)
        self._writer.shutdown(wait=True)

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            raise RuntimeError("the local store is not open")
        return self._engine

    async def transact(self, fn: Callable[[sa.Connection], T]) -> T:
        """Run `fn` in one transaction on the writer thread; returns once committed."""

        def run() -> T:
            with self.engine.begin() as connection:
                return fn(connection)

        return await self._run(run)

    async def read(self, fn: Callable[[sa.Connection], T]) -> T:
        """Run `fn` over a connection on the writer thread (reads in the order of the writes before them)."""

        def run() -> T:
            with self.engine.connect() as connection:
                return fn(connection)

        return await self._run(run)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, fn, *args)

    # -- writes -------------------------------------------------------------------------------------------
    async def save_disposition(
        self,
        disposition: Disposition,
        outcomes: Outcomes | None = None,
        extra_rows: list[tuple[str, dict[str, Any]]] | None = None,
        audit: list[AuditEntry] | None = None,
    ) -> Disposition:
        """Returns once the disposition and its details are committed to disk, as stored: saving the same call's
        wrap-up again updates that disposition as its next version (see wrapups.save_wrapup). `audit` rows are
        chained in the same transaction: no wrap-up without its audit row, even after a kill."""
        from agentdesk.store import audit as audit_trail
        from agentdesk.store.fhir_queue import enqueue
        from agentdesk.store.outcomes import Outcomes
        from agentdesk.store.wrapups import save_wrapup

        details = outcomes or Outcomes()

        def save() -> Disposition:
            now = utc_now()
            with self.engine.begin() as connection:
                saved = save_wrapup(connection, disposition, details, now, extra_rows)
                enqueue(connection, saved, details, self.write_back, now)
                audit_trail.append(connection, self.workstation, audit or [])
                return saved

        stored = await self._run(save)
        self.on_saved(stored)
        return stored

    async def save_draft(self, call_id: str, agent_id: str, call: dict[str, Any], form: WrapUpForm) -> None:
        from agentdesk.store.wrapups import save_draft

        def save() -> None:
            with self.engine.begin() as connection:
                save_draft(connection, call_id, agent_id, call, form, utc_now())

        await self._run(save)

    async def discard_draft(self, call_id: str) -> None:
        from agentdesk.store.wrapups import discard_draft

        def discard() -> None:
            with self.engine.begin() as connection:
                discard_draft(connection, call_id)

        await self._run(discard)

    async def open_drafts(self, agent_id: str) -> list[tuple[dict[str, Any], WrapUpForm]]:
        from agentdesk.store.wrapups import open_drafts

        def read() -> list[tuple[dict[str, Any], WrapUpForm]]:
            with self.engine.connect() as connection:
                return open_drafts(connection, agent_id)

        return await self._run(read)

    async def wrapups_between(self, start: datetime, end: datetime, with_notes: bool = False) -> list[dict[str, Any]]:
        from agentdesk.store.wrapups import wrapups_between

        def read() -> list[dict[str, Any]]:
            with self.engine.connect() as connection:
                return wrapups_between(connection, start, end, with_notes)

        return await self._run(read)

    def log_call_event(
        self,
        call_id: str,
        kind: str,
        state: str,
        source: str,
        occurred_at: datetime,
        reason: str = "",
        campaign_code: str = "",
        agent_id: str = "",
        queue: str = "",
    ) -> asyncio.Future[None]:
        """Queue one transition of a call (see `append`). The phone system's time is kept, in UTC: metrics
        compare these timestamps as stored, and SQLite keeps no offset."""
        return self.append(
            "call_events",
            {
                "call_id": call_id,
                "kind": kind,
                "state": state,
                "source": source,
                "occurred_at": occurred_at.astimezone(UTC),
                "recorded_at": utc_now(),
                "reason": reason,
                "campaign_code": campaign_code,
                "uid": new_row_id(),
                "agent_id": agent_id,
                "queue": queue[:100],
            },
        )

    def log_profile_view(self, agent_id: str, patient_key: str, call_id: str) -> asyncio.Future[None]:
        """Queue one audit row: who saw which record, when, for which call (see `append`)."""
        return self.append(
            "audit_events",
            {
                "id": new_row_id(),
                "agent_id": agent_id,
                "action": "profile_view",
                "patient_key": patient_key,
                "call_id": call_id,
                "at": utc_now(),
            },
        )

    def log_campaign_switch(self, agent_id: str, call_id: str, previous: str, chosen: str) -> asyncio.Future[None]:
        """Queue an audit row: the agent moved this call from one campaign to another (see `append`)."""
        return self.append(
            "audit_events",
            {
                "id": new_row_id(),
                "agent_id": agent_id,
                "action": "campaign_switch",
                "patient_key": f"campaign:{previous or '-'}>{chosen}",  # what the action was about: no patient
                "call_id": call_id,
                "at": utc_now(),
            },
        )

    async def save_script_run(
        self, run: ScriptRun, call_id: str, agent_id: str, disposition_code: str = "", outcome: str = ""
    ) -> None:
        """The run and every event of it, in one transaction; returns once on disk."""
        from agentdesk.store.script_runs import RunOutcome, run_rows

        rows = run_rows(run, call_id, agent_id, utc_now(), RunOutcome(disposition_code, outcome))  # on this thread
        await self._run(self._insert_many, rows)

    async def script_run_facts(self, start: datetime, end: datetime) -> list[RunFacts]:
        """What the funnel needs of the runs started in [start, end)."""
        return await self._run(self._script_run_facts, start, end)

    def _script_run_facts(self, start: datetime, end: datetime) -> list[RunFacts]:
        from agentdesk.store.script_runs import read_run_facts

        with self.engine.connect() as connection:
            return read_run_facts(connection, start, end)

    async def audit_rows(self) -> list[dict[str, Any]]:
        from agentdesk.store import audit as audit_trail

        def read() -> list[dict[str, Any]]:
            with self.engine.connect() as connection:
                return audit_trail.chain_rows(connection)

        return await self._run(read)

    async def who_viewed(
        self, patient_ref: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[dict[str, Any]]:
        from agentdesk.store import audit as audit_trail

        def read() -> list[dict[str, Any]]:
            with self.engine.connect() as connection:
                return audit_trail.who_viewed(connection, patient_ref, start, end)

        return await self._run(read)

    async def audit(self, entries: list[AuditEntry]) -> None:
        """Chain audit rows in their own transaction; returns once they are on disk (call it before showing)."""
        from agentdesk.store import audit as audit_trail

        def write() -> None:
            with self.engine.begin() as connection:
                audit_trail.append(connection, self.workstation, entries)

        if entries:
            await self._run(write)

    async def record_identity_decisions(
        self, decisions: list[IdentityDecision], agent_id: str, call_id: str = "", audit: list[AuditEntry] | None = None
    ) -> None:
        """Durable before it returns: later lookups (here and, once synced, on other desks) honour it."""
        at = utc_now()
        rows = [
            {
                "id": new_row_id(),
                "left_ref": d.left_ref,
                "right_ref": d.right_ref,
                "decision": d.decision.value,
                "agent_id": agent_id,
                "call_id": call_id,
                "at": at,
            }
            for d in decisions
        ]
        # The match confirm/split and its audit rows: one transaction.
        await self._run(self._insert_many, [("identity_decisions", row) for row in rows], audit)

    async def interactions_for(self, refs: list[str], limit: int = 20) -> list[dict[str, Any]]:
        """Earlier wrap-ups of calls that showed any of these source records, newest first."""
        return await self._run(self._interactions, refs, limit)

    def _interactions(self, refs: list[str], limit: int) -> list[dict[str, Any]]:
        import sqlalchemy as sa

        from agentdesk.store import schema

        table = schema.dispositions
        if not refs:
            return []
        # patient_key is 'SRC:id;SRC:id': match whole references, never a prefix of another id.
        wrapped = sa.literal(";") + table.c.patient_key + sa.literal(";")
        condition = sa.or_(*(wrapped.contains(f";{ref};", autoescape=True) for ref in refs))
        query = sa.select(table).where(condition).order_by(table.c.wrapup_done_at.desc()).limit(limit)
        writes = schema.fhir_writes
        with self.engine.connect() as connection:
            rows = [dict(row) for row in connection.execute(query).mappings().all()]
            # What the EHR made of each call's bookings and referrals (FHIR write-back), for the timeline.
            done = sa.select(writes.c.disposition_id, writes.c.backend, writes.c.resource_ref).where(
                writes.c.disposition_id.in_([row["id"] for row in rows]), writes.c.state == "written"
            )
            written: dict[str, list[str]] = {}
            for found in connection.execute(done.order_by(writes.c.created_at)):
                written.setdefault(str(found.disposition_id), []).append(f"{found.resource_ref} in {found.backend}")
        for row in rows:
            row["written"] = ", ".join(written.get(str(row["id"]), []))
        return rows

    # -- the outbox: rows still to push to the central store, and decisions pulled from it ---------------------
    async def unsynced(
        self, table: OutboxTable | str, limit: int = 500, after: int | None = None
    ) -> list[dict[str, Any]]:
        from agentdesk.store import outbox

        spec = outbox.outbox_table(table) if isinstance(table, str) else table

        def read() -> list[dict[str, Any]]:
            with self.engine.connect() as connection:
                return outbox.unsynced(connection, spec, limit, after)

        return await self._run(read)

    async def outbox_batch(self, table: OutboxTable, limit: int, after: int | None = None) -> OutboxBatch:
        """The next rows to push, as the push sends them (see outbox.read_batch)."""
        from agentdesk.store import outbox

        def read() -> OutboxBatch:
            with self.engine.connect() as connection:
                return outbox.read_batch(connection, table, limit, after)

        return await self._run(read)

    async def mark_synced(self, table: OutboxTable, rows: OutboxBatch | list[dict[str, Any]]) -> None:
        from agentdesk.store import outbox

        def mark() -> None:
            with self.engine.begin() as connection:
                outbox.mark_synced(connection, table, rows, utc_now())

        await self._run(mark)

    async def pending(self, tables: tuple[OutboxTable, ...]) -> int:
        """Rows still to send."""
        from agentdesk.store import outbox

        def count() -> int:
            with self.engine.connect() as connection:
                return outbox.pending(connection, tables)

        return await self._run(count)

    async def add_pulled_decisions(self, rows: list[dict[str, Any]]) -> list[IdentityDecision]:
        """Store decisions other desks made (already central, so marked synced); returns the ones new here."""
        return await self._run(self._add_pulled, rows)

    def _add_pulled(self, rows: list[dict[str, Any]]) -> list[IdentityDecision]:
        import sqlalchemy as sa

        from agentdesk.store import schema

        table = schema.identity_decisions
        if not rows:
            return []
        with self.engine.begin() as connection:
            known = set(
                connection.execute(sa.select(table.c.id).where(table.c.id.in_([r["id"] for r in rows]))).scalars()
            )
            fresh = [r for r in rows if r["id"] not in known]
            if fresh:
                connection.execute(
                    table.insert(),
                    [{**{k: v for k, v in r.items() if k != "received_at"}, "synced_at": utc_now()} for r in fresh],
                )
        return [IdentityDecision(str(r["left_ref"]), str(r["right_ref"]), Decision(str(r["decision"]))) for r in fresh]

    async def identity_decisions(self) -> list[IdentityDecision]:
        """Every decision, oldest first (so the latest on a pair wins when replayed into a DecisionBook)."""
        rows = await self._run(self._select, "identity_decisions", "at", 1_000_000)
        return [
            IdentityDecision(str(r["left_ref"]), str(r["right_ref"]), Decision(str(r["decision"])))
            for r in reversed(rows)
        ]

    def record_agent_state(self, agent_id: str, state: str, reason: str, started_at: datetime) -> asyncio.Future[None]:
        """Queue the agent's new state (see `append`): it closes the agent's open state row and opens its own,
        in the batch's transaction. Await the future to know it is on disk."""
        row = {"agent_id": agent_id, "state": state, "reason": reason, "started_at": started_at.astimezone(UTC)}
        return self.append("agent_states", {**row, "uid": new_row_id()})

    def append(self, table_name: str, row: dict[str, Any]) -> asyncio.Future[None]:
        """Queue a row of an append-only log table (call events, audit); rows queued in the same turn of the loop
        are written in one transaction. Returns the batch's future: await it to know the row is on disk, or
        ignore it (failures also go to `on_write_error`).

        One transaction (and fsync) per row, and one task per row, made a burst of call events slow the GUI
        thread: this costs one transaction and one callback per batch.
        """
        loop = asyncio.get_running_loop()
        if self._batch_done is None:
            self._batch_done = loop.create_future()
        self._queued.append((table_name, row))
        if self._flushing is None or self._flushing.done():
            self._flushing = loop.create_task(self._flush_queued())
        return self._batch_done

    async def _flush_queued(self) -> None:
        """Group commit: one batch at a time on the writer; rows queued while a batch commits form the next one,
        and under a steady stream a batch starts at most every GROUP_COMMIT_SECONDS, so the commits (each an
        fsync and a round of SQLAlchemy) stay few however fast events come. A row after a quiet spell goes at once."""
        loop = asyncio.get_running_loop()
        while self._queued:
            await asyncio.sleep(max(0.0, self._last_commit + GROUP_COMMIT_SECONDS - loop.time()))
            self._last_commit = loop.time()
            batch, done = self._queued, self._batch_done
            self._queued, self._batch_done = [], None
            assert done is not None
            await self._write_batch(batch, done)

    async def _write_batch(self, batch: list[tuple[str, dict[str, Any]]], done: asyncio.Future[None]) -> None:
        try:
            dropped = await self._run(self._insert_isolating, batch)
        except Exception as exc:
            log.error("writing %d log row(s) failed: %s", len(batch), type(exc).__name__)
            done.set_exception(exc)
            done.exception()  # retrieved here: callers that did not await it must not trigger a warning
            self.on_write_error(exc)
            return
        if dropped:
            # Never the row's content in the log: it is what could not be stored, and may be patient data.
            log.error(
                "dropped %d log row(s) that could not be stored (%s); the other %d are on disk",
                len(dropped),
                ", ".join(sorted({f"{table}: {type(error).__name__}" for table, error in dropped})),
                len(batch) - len(dropped),
            )
            self.on_write_error(dropped[0][1])
        done.set_result(None)

    def _insert_isolating(self, rows: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, BaseException]]:
        """Insert a batch in one transaction; if it fails, row by row, so one bad row never takes the others
        with it. Returns the rows dropped (table, error); raises when none could be written (the disk, not
        the rows, is the problem)."""
        try:
            self._insert_many(rows)
            return []
        except Exception:
            if len(rows) == 1:
                raise
        dropped: list[tuple[str, BaseException]] = []
        last: Exception | None = None
        for row in rows:
            try:
                self._insert_many([row])
            except Exception as exc:
                dropped.append((row[0], exc))
                last = exc
        if last is not None and len(dropped) == len(rows):
            raise last
        return dropped

    def _insert_many(self, rows: list[tuple[str, dict[str, Any]]], audit: list[AuditEntry] | None = None) -> None:
        from agentdesk.store import audit as audit_trail
        from agentdesk.store import schema

        by_table: dict[str, list[dict[str, Any]]] = {}
        entries = list(audit or [])
        for table_name, row in rows:
            if table_name == "audit_events":  # queued audit rows join the chain like every other
                entries.append(audit_trail.AuditEntry(**{k: row[k] for k in AUDIT_FIELDS if k in row}))
            else:
                by_table.setdefault(table_name, []).append(row)
        states = by_table.pop("agent_states", [])
        with self.engine.begin() as connection:
            for table_name, table_rows in by_table.items():
                connection.execute(schema.metadata.tables[table_name].insert(), table_rows)
            if states:
                _agent_states(connection, states)
            if entries:
                audit_trail.append(connection, self.workstation, entries)

    # -- reads ---------------------------------------------------------------------------------------------
    async def dispositions(self, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first."""
        return await self._run(self._select, "dispositions", "created_at", limit)

    async def audit_events(self, limit: int = 100) -> list[dict[str, Any]]:
        return await self._run(self._select, "audit_events", "at", limit)

    async def call_events(self, limit: int = 100) -> list[dict[str, Any]]:
        return await self._run(self._select, "call_events", "id", limit)

    async def agent_states(self, limit: int = 100) -> list[dict[str, Any]]:
        return await self._run(self._select, "agent_states", "id", limit)

    def _select(self, table_name: str, order_column: str, limit: int) -> list[dict[str, Any]]:
        import sqlalchemy as sa

        from agentdesk.store import schema

        table = schema.metadata.tables[table_name]
        query = sa.select(table).order_by(table.c[order_column].desc()).limit(limit)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [dict(row) for row in rows]


def _agent_states(connection: sa.Connection, states: list[dict[str, Any]]) -> None:
    """Each agent's state rows in order: the open row ends where the first new one starts, and each new row
    ends where the next starts (one UPDATE per agent and one INSERT per batch, not two statements per change)."""
    from agentdesk.store import schema

    table = schema.agent_states
    last: dict[str, dict[str, Any]] = {}
    rows = []
    for state in states:
        row = {**state, "ended_at": None, "version": 1}
        earlier = last.get(row["agent_id"])
        if earlier is None:
            connection.execute(
                table.update()
                .where(table.c.agent_id == row["agent_id"], table.c.ended_at.is_(None))
                .values(ended_at=row["started_at"], version=table.c.version + 1, synced_at=None)
            )
        else:
            earlier["ended_at"] = row["started_at"]
        last[row["agent_id"]] = row
        rows.append(row)
    connection.execute(table.insert(), rows)
