"""WAL checkpoints beside the writer, never inside a save.

SQLite's default runs a checkpoint in the commit that takes the WAL past 1,000 pages: that save then also copies
the WAL into the database file and waits for two more fsyncs (the WAL's and the database file's), roughly one save
in fifty. Here the writer's connection never checkpoints (`wal_autocheckpoint=0`, set where the store's engine is
made), and this thread, on a connection of its own, runs a PASSIVE checkpoint after every `every_commits` commits:
PASSIVE takes no lock the writer needs, so saves go on while it copies. What stays on the save path is SQLite's
restart of the WAL: the first commit after a checkpoint that copied everything writes a new WAL header and syncs it
(one more fsync, of a few bytes, on that save only).

Durability is the WAL's, unchanged: every commit is fsynced to the WAL (synchronous=FULL) before the save returns;
a checkpoint only moves committed pages into the database file, and a crash mid-checkpoint is replayed from the WAL.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlalchemy as sa

log = logging.getLogger("agentdesk.store")
# A save writes about 20 pages (the disposition, its booking and referral, the audit row and their indexes): 40
# commits is about SQLite's own 1,000-page threshold, so the WAL stays a few MB and is reused (a commit that
# overwrites WAL blocks is a cheaper fsync than one that grows the file). Log-row batches and drafts count as
# commits too; they write fewer pages.
CHECKPOINT_COMMITS = 40
# The WAL starts over only when a writer begins after a checkpoint that copied everything, so after the main pass
# the frames committed meanwhile are copied in short passes until one finds the WAL unchanged since the one before
# (a couple, when saves leave gaps, as an agent's do; a writer that never pauses is not caught, see below).
CATCH_UP_PASSES = 3
CATCH_UP_PAUSE_SECONDS = 0.002  # lets a commit in flight at the wake-up (the event fires before it) land first
# A writer that never pauses leaves no moment for that: a WAL past this is reset with a RESTART checkpoint, which
# waits for the writer's transaction in flight (busy_timeout) and copies what the passes left: once in ~180
# back-to-back saves even then, and better than a WAL that grows without end.
WAL_LIMIT_PAGES = 4_000
STOP_WAIT_SECONDS = 5.0


class Checkpointer:
    """One thread and one connection of the store's engine (held, so the writer never gets it from the pool)."""

    def __init__(self, engine: sa.Engine, every_commits: int = CHECKPOINT_COMMITS) -> None:
        self._engine = engine
        self._every = every_commits
        self._commits = 0  # since the last wake; touched on the writer thread only
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="local-store-checkpoint", daemon=True)
        self.passes = 0  # checkpoints run (read by tests and the benchmark)

    def start(self) -> None:
        import sqlalchemy as sa

        sa.event.listen(self._engine, "commit", self._committed)
        self._thread.start()
        self._wake.set()  # what opening the store (its migrations) left in the WAL

    def _committed(self, _connection: Any) -> None:
        """On the writer thread, as a transaction commits: a counter and, now and then, a wake-up."""
        self._commits += 1
        if self._commits >= self._every:
            self._commits = 0
            self._wake.set()

    def stop(self) -> None:
        import sqlalchemy as sa

        if sa.event.contains(self._engine, "commit", self._committed):
            sa.event.remove(self._engine, "commit", self._committed)
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(STOP_WAIT_SECONDS)

    def _run(self) -> None:
        try:
            raw = self._engine.raw_connection()
        except Exception as exc:  # the writer's own checks report an unusable store; this only loses its help
            log.warning("checkpoints beside the writer unavailable (%s)", type(exc).__name__)
            return
        try:
            cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                try:
                    self._checkpoint(cursor)
                except Exception as exc:  # e.g. a full disk: the WAL keeps every commit; the next wake tries again
                    log.warning("WAL checkpoint failed (%s)", type(exc).__name__)
        finally:
            raw.close()

    def _checkpoint(self, cursor: Any) -> None:
        frames, before = 0, -1
        for _ in range(CATCH_UP_PASSES):
            # Outside any transaction (the driver's own transaction handling is off): no lock the writer needs.
            busy, frames, copied = cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.passes += 1
            if busy or self._stopping or (copied >= frames and frames == before):
                break
            before = frames
            time.sleep(CATCH_UP_PAUSE_SECONDS)
        if frames > WAL_LIMIT_PAGES and not self._stopping:
            cursor.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            self.passes += 1
