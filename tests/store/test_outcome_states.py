"""A stateful property test: save / edit draft / sync / crash / restart / outage in any order, against a model of
what must be stored locally and, after a sync that reached the server, centrally (real SQLite, real PostgreSQL)."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from agentdesk.store.central import CentralStore, CentralStoreError
from agentdesk.store.dispositions import Disposition, DispositionInvalid
from agentdesk.store.local import LocalStore
from agentdesk.store.outcomes import WrapUpForm, read_outcomes
from agentdesk.store.sync import OutboxSync

pytestmark = pytest.mark.slow
START = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d 10:30")
BOOKING = {"provider": "Dr. Ada Quill", "location": "Heart Center", "visit_type": "Consult", "start": START}
UNREACHABLE = "postgresql+psycopg://agentdesk@127.0.0.1:9/agentdesk"
RUNS = itertools.count()


class WrapUpMachine(RuleBasedStateMachine):
    central_url = ""

    def __init__(self) -> None:
        super().__init__()
        self.run = next(RUNS)
        self.folder = Path(tempfile.mkdtemp(prefix="agentdesk-states-"))
        self.loop = asyncio.new_event_loop()
        self.store = self._open()
        self.outage = False
        self.saved: dict[str, tuple[str, int]] = {}  # call id -> (code, version): what must be stored
        self.drafts: dict[str, str] = {}  # call id -> notes of the draft that must come back
        self.central_current = True  # the last sync reached the server and nothing was saved since

    def _do(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def _open(self) -> LocalStore:
        store = LocalStore(self.folder / "desk.sqlite3")
        self._do(store.open())
        return store

    def call(self, n: int) -> str:
        return f"h{self.run}-{n}"

    @rule(n=st.integers(0, 3), booked=st.booleans(), with_booking=st.booleans(), notes=st.text(max_size=20))
    def save(self, n: int, booked: bool, with_booking: bool, notes: str) -> None:
        code = "appointment_booked" if booked else "information_provided"
        form = WrapUpForm(code, notes, {"booking": BOOKING} if with_booking else {})
        required = {"booking"} if booked else set()
        try:
            outcomes = read_outcomes(form, required, agent_id="dana", time_zone="UTC", now=datetime.now(UTC))
        except DispositionInvalid:
            assert booked and not with_booking
            return
        disposition = Disposition(call_id=self.call(n), agent_id="dana", disposition_code=code, outcome="other")
        stored = self._do(self.store.save_disposition(disposition, outcomes))
        previous = self.saved.get(self.call(n), ("", 0))[1]
        assert stored.version == previous + 1
        self.saved[self.call(n)] = (code, stored.version)
        self.drafts.pop(self.call(n), None)
        self.central_current = False

    @rule(n=st.integers(0, 3), notes=st.text(max_size=20))
    def edit_draft(self, n: int, notes: str) -> None:
        form = WrapUpForm("information_provided", notes)
        self._do(self.store.save_draft(self.call(n), "dana", {"call_id": self.call(n)}, form))
        self.drafts[self.call(n)] = notes

    @rule()
    def sync(self) -> None:
        central = CentralStore(UNREACHABLE if self.outage else self.central_url)
        sync = OutboxSync(self.store, central, lambda _: None, batch_size=2)
        try:
            self._do(sync.sync_once())
            self.central_current = not self.outage
        except CentralStoreError:
            assert self.outage
        finally:
            central.dispose()

    @rule()
    def crash(self) -> None:
        """The process dies: nothing is closed or flushed; the next start opens the same file."""
        self.store._writer.shutdown(wait=True)  # the dead process's thread is gone; its commits are on disk
        self.store = self._open()

    @rule()
    def restart(self) -> None:
        self._do(self.store.close())
        self.store = self._open()

    @rule()
    def toggle_outage(self) -> None:
        self.outage = not self.outage

    @invariant()
    def local_store_matches_the_model(self) -> None:
        rows = self._do(self.store.dispositions(limit=1000))
        assert {r["call_id"]: (r["disposition_code"], r["version"]) for r in rows} == self.saved
        drafts = self._do(self.store.open_drafts("dana"))
        assert {call["call_id"]: form.notes for call, form in drafts} == self.drafts

    @invariant()
    def central_store_matches_after_a_sync(self) -> None:
        if not self.central_current:
            return
        engine = sa.create_engine(self.central_url)
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT call_id, disposition_code, version FROM dispositions WHERE call_id LIKE :p"),
                {"p": f"h{self.run}-%"},
            ).all()
        engine.dispose()
        assert len(rows) == len({r[0] for r in rows})  # each call once
        assert {r[0]: (r[1], r[2]) for r in rows} == self.saved

    def teardown(self) -> None:
        self._do(self.store.close())
        self.loop.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def test_wrapups_survive_any_sequence_of_saves_drafts_syncs_crashes_and_outages(central_url: str) -> None:
    WrapUpMachine.central_url = central_url
    run_state_machine_as_test(
        WrapUpMachine,
        settings=settings(
            max_examples=12,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
