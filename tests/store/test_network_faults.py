"""The central PostgreSQL down, slow, or dropping connections mid-transaction (a TCP fault proxy between the desk
and the real server): nothing lost, nothing duplicated, and the sync resumes by itself."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from agentdesk.store.central import CentralStore
from agentdesk.store.dispositions import Disposition
from agentdesk.store.local import LocalStore
from agentdesk.store.outcomes import WrapUpForm, read_outcomes
from agentdesk.store.sync import Backoff, OutboxSync, SyncStatus
from tests.fault_proxy import FaultProxy

pytestmark = pytest.mark.slow
START = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d 10:30")
BOOKING = {"provider": "Dr. Ada Quill", "location": "Heart Center", "visit_type": "Consult", "start": START}
PHASES = ["up", "drop", "down", "slow", "drop", "down", "drop", "up", "slow", "drop"]


def test_outages_slowness_and_dropped_connections_lose_and_duplicate_nothing(central_url: str, tmp_path: Path) -> None:
    port = sa.make_url(central_url).port
    assert port is not None
    proxy = FaultProxy(port, seed=7)
    through_proxy = central_url.replace(f":{port}/", f":{proxy.port}/")
    statuses: list[SyncStatus] = []

    async def scenario() -> int:
        store = LocalStore(tmp_path / "desk.sqlite3")
        await store.open()
        sync = OutboxSync(
            store,
            CentralStore(through_proxy, deadline_seconds=3),  # a zombie transaction is ended after 6 s
            lambda _: None,
            on_status=statuses.append,
            interval_seconds=0.05,
            batch_size=7,
            backoff=Backoff(base=0.05, cap=0.4),
        )
        sync.start()
        saved = 0
        for phase, mode in enumerate(PHASES):
            proxy.set_mode(mode)
            for i in range(8):
                call_id = f"net-{phase}-{i}"
                form = WrapUpForm("appointment_booked", "", {"booking": BOOKING})
                outcomes = read_outcomes(form, {"booking"}, agent_id="dana", time_zone="UTC", now=datetime.now(UTC))
                await store.save_disposition(
                    Disposition(
                        call_id=call_id, agent_id="dana", disposition_code="appointment_booked", outcome="booking"
                    ),
                    outcomes,
                )
                store.log_call_event(call_id, "ended", "ended", "net-test", datetime.now(UTC))
                await store.record_agent_state("dana", "available" if i % 2 else "wrap_up", "", datetime.now(UTC))
                saved += 1
                await asyncio.sleep(0.06)
        proxy.set_mode("up")
        # Nobody calls sync_once: the running sync must come back by itself and drain the outbox.
        for _ in range(1200):
            if statuses and statuses[-1] == SyncStatus(0):
                break
            await asyncio.sleep(0.05)
        left = await store.pending(sync.tables)
        await sync.stop()
        await store.close()
        assert left == 0, f"{left} rows still pending; last status {statuses[-1] if statuses else None}"
        return saved

    try:
        saved = asyncio.run(scenario())
    finally:
        proxy.stop()
    assert proxy.cuts > 0  # connections really were cut mid-stream
    assert any(s.offline_since is not None and s.text.startswith("offline since") for s in statuses)
    engine = sa.create_engine(central_url)
    with engine.connect() as connection:

        def one(sql: str) -> int:
            return int(connection.execute(sa.text(sql)).scalar_one())

        assert one("SELECT count(*) FROM dispositions WHERE call_id LIKE 'net-%'") == saved
        assert (
            one(
                "SELECT count(*) FROM bookings b JOIN dispositions d ON d.id = b.disposition_id "
                "WHERE d.call_id LIKE 'net-%'"
            )
            == saved
        )
        assert one("SELECT count(*) FROM call_events WHERE source = 'net-test'") == saved
        assert one("SELECT count(*) FROM agent_states WHERE agent_id = 'dana' AND ended_at IS NULL") == 1
        assert one("SELECT count(*) FROM agent_states WHERE agent_id = 'dana'") == saved
    engine.dispose()
