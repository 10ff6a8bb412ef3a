"""The generic outbox against a real PostgreSQL: every registered table reaches the central store exactly once,
a wrap-up saved again replaces its older version there, batches, and a central schema newer than the desk."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from agentdesk.store.central import CentralStore, CentralStoreError
from agentdesk.store.dispositions import Disposition
from agentdesk.store.local import LocalStore
from agentdesk.store.outcomes import WrapUpForm, read_outcomes
from agentdesk.store.sync import OutboxSync, SyncStatus

SOON = datetime.now(UTC) + timedelta(days=3)
BOOKING = {
    "provider": "Dr. Ada Quill",
    "location": "Heart Center",
    "visit_type": "Consult",
    "start": f"{SOON:%Y-%m-%d} 10:30",
}
REFERRAL = {"target": "Cardiology", "reason": "Chest pain on exertion", "urgency": "urgent"}


def count(url: str, sql: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        value = int(connection.execute(sa.text(sql)).scalar_one())
    engine.dispose()
    return value


def wrapup(code: str, **details: dict[str, str]):  # type: ignore[no-untyped-def]
    return read_outcomes(
        WrapUpForm(code, "", dict(details)), set(), agent_id="dana", time_zone="UTC", now=datetime.now(UTC)
    )


def test_every_table_reaches_the_central_store_once_and_a_resave_replaces_its_version(
    central_url: str, tmp_path: Path
) -> None:
    statuses: list[SyncStatus] = []

    async def scenario() -> None:
        store = LocalStore(tmp_path / "desk.sqlite3")
        await store.open()
        sync = OutboxSync(store, CentralStore(central_url), lambda _: None, on_status=statuses.append, batch_size=3)
        for i in range(7):  # more than one batch
            store.log_call_event(f"out-{i}", "offered", "ringing", "test", datetime.now(UTC))
        await store.record_agent_state("dana", "ready", "", datetime.now(UTC))
        await store.log_profile_view("dana", "EHR:p1", "out-1")
        first = Disposition(call_id="out-1", agent_id="dana", disposition_code="appointment_booked", outcome="booking")
        await store.save_disposition(first, wrapup("appointment_booked", booking=BOOKING, referral=REFERRAL))
        assert await store.pending(sync.tables) == 12
        await sync._round()
        assert statuses[-1] == SyncStatus(0)
        # Everything pushed again, as if each answer had been lost: nothing doubles.
        central = CentralStore(central_url)
        with store.engine.connect() as connection:
            for table in sync.tables:
                rows = [dict(r) for r in connection.execute(sa.text(f"SELECT * FROM {table.name}")).mappings()]
                central.push(table, rows)
        central.dispose()
        # The agent ends the state (a new version of that row) and corrects the booking: saved again.
        await store.record_agent_state("dana", "not_ready", "Break", datetime.now(UTC))
        again = Disposition(call_id="out-1", agent_id="dana", disposition_code="appointment_booked", outcome="booking")
        await store.save_disposition(
            again, wrapup("appointment_booked", booking={**BOOKING, "provider": "Dr. Ben Ode"})
        )
        report = await sync.sync_once()
        assert report.pushed == 4  # the disposition (v2), its booking, the ended state (v2), the new state
        await sync.stop()
        await store.close()

    asyncio.run(scenario())
    assert count(central_url, "SELECT count(*) FROM call_events WHERE call_id LIKE 'out-%'") == 7
    assert count(central_url, "SELECT count(*) FROM dispositions WHERE call_id = 'out-1'") == 1
    assert count(central_url, "SELECT version FROM dispositions WHERE call_id = 'out-1'") == 2
    assert count(central_url, "SELECT count(*) FROM audit_events WHERE call_id = 'out-1'") == 1
    assert count(central_url, "SELECT count(*) FROM agent_states WHERE agent_id = 'dana' AND ended_at IS NULL") == 1
    assert count(central_url, "SELECT count(*) FROM agent_states WHERE agent_id = 'dana'") == 2
    current = (
        "SELECT count(*) FROM {} t JOIN dispositions d ON d.id = t.disposition_id "
        "WHERE d.call_id = 'out-1' AND t.version = d.version"
    )
    assert count(central_url, current.format("bookings")) == 1
    assert count(central_url, current.format("referrals")) == 0  # dropped in the second version
    assert count(central_url, "SELECT count(*) FROM bookings WHERE provider = 'Dr. Ben Ode'") == 1


def test_an_older_version_never_overwrites_a_newer_one(central_url: str) -> None:
    central = CentralStore(central_url)
    now = datetime.now(UTC)
    row = {
        "id": "22222222-2222-4222-8222-222222222222",
        "call_id": "v-1",
        "agent_id": "dana",
        "campaign_code": "",
        "disposition_code": "x",
        "outcome": "other",
        "notes": "",
        "patient_key": "",
        "wrapup_done_at": now,
        "created_at": now,
    }
    central.push("dispositions", [{**row, "version": 2, "disposition_code": "new"}])
    central.push("dispositions", [{**row, "version": 1, "disposition_code": "old"}])  # a late retry of version 1
    central.dispose()
    assert (
        count(central_url, "SELECT count(*) FROM dispositions WHERE call_id = 'v-1' AND disposition_code = 'new'") == 1
    )


def test_a_central_schema_newer_than_this_desk_is_refused_naming_both_versions(central_url: str) -> None:
    admin = sa.create_engine(central_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text("CREATE DATABASE newer"))
    admin.dispose()
    url = central_url.rsplit("/", 1)[0] + "/newer"
    central = CentralStore(url)
    central.upgrade()
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        head = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(CentralStoreError) as caught:
        central.check_schema()
    central.dispose()
    assert "9999" in str(caught.value) and head in str(caught.value) and "newer" in str(caught.value)


def test_times_arrive_unchanged_when_the_central_server_is_not_on_utc(central_url: str, tmp_path: Path) -> None:
    """SQLite keeps UTC times without a zone; a server (or login role) set to another TimeZone must not shift them."""
    admin = sa.create_engine(central_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.execute(sa.text("ALTER ROLE CURRENT_USER SET TimeZone = 'America/Chicago'"))
    wrapped_up = datetime(2026, 12, 6, 14, 30, 15, tzinfo=UTC)

    async def scenario() -> None:
        store = LocalStore(tmp_path / "desk.sqlite3")
        await store.open()
        disposition = Disposition(
            call_id="tz-1",
            agent_id="dana",
            disposition_code="appointment_booked",
            outcome="booking",
            wrapup_done_at=wrapped_up,
        )
        await store.save_disposition(disposition, wrapup("appointment_booked", booking=BOOKING))
        sync = OutboxSync(store, CentralStore(central_url), lambda _: None)
        await sync.sync_once()
        await sync.stop()
        await store.close()

    try:
        asyncio.run(scenario())
        with admin.connect() as connection:
            assert connection.execute(sa.text("SHOW TimeZone")).scalar_one() == "America/Chicago"
            stored = connection.execute(sa.text("SELECT wrapup_done_at FROM dispositions WHERE call_id = 'tz-1'"))
            assert stored.scalar_one() == wrapped_up
            starts = connection.execute(
                sa.text(
                    "SELECT b.starts_at FROM bookings b JOIN dispositions d ON d.id = b.disposition_id "
                    "WHERE d.call_id = 'tz-1'"
                )
            ).scalar_one()
            assert starts == datetime(SOON.year, SOON.month, SOON.day, 10, 30, tzinfo=UTC)  # typed in UTC
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text("ALTER ROLE CURRENT_USER RESET TimeZone"))
        admin.dispose()


class PausingCentral(CentralStore):
    """The real central store, holding its first push of dispositions until the test lets it go (the agent saves
    the wrap-up again meanwhile)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.pushing = threading.Event()
        self.go_on = threading.Event()

    def push(self, target, rows) -> None:  # type: ignore[no-untyped-def]
        name = target if isinstance(target, str) else target.name
        if name == "dispositions" and not self.pushing.is_set():
            self.pushing.set()
            assert self.go_on.wait(10)
        super().push(target, rows)


def test_a_wrapup_saved_again_while_its_batch_is_pushed_stays_in_the_outbox_at_the_new_version(
    central_url: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        store = LocalStore(tmp_path / "desk.sqlite3")
        await store.open()
        for i in range(5):  # batches of two: the pushed one, the one read meanwhile, the rest
            call = Disposition(call_id=f"again-{i}", agent_id="dana", disposition_code="info", outcome="other")
            await store.save_disposition(call, wrapup("info"))
        central = PausingCentral(central_url)
        sync = OutboxSync(store, central, lambda _: None, batch_size=2)
        round_one = asyncio.ensure_future(sync.sync_once())
        assert await asyncio.to_thread(central.pushing.wait, 10)
        again = Disposition(call_id="again-0", agent_id="dana", disposition_code="callback_set", outcome="other")
        await store.save_disposition(again, wrapup("callback_set"))  # version 2, while version 1 is pushed
        central.go_on.set()
        assert (await round_one).pushed == 5
        waiting = await store.unsynced("dispositions")
        assert [(r["call_id"], r["version"]) for r in waiting] == [("again-0", 2)]  # not marked at version 1
        assert count(central_url, "SELECT version FROM dispositions WHERE call_id = 'again-0'") == 1
        assert (await sync.sync_once()).pushed == 1
        assert await store.unsynced("dispositions") == []
        await sync.stop()
        await store.close()

    asyncio.run(scenario())
    assert count(central_url, "SELECT count(*) FROM dispositions WHERE call_id LIKE 'again-%'") == 5
    version_two = (
        "SELECT count(*) FROM dispositions WHERE call_id = 'again-0' AND version = 2 AND disposition_code = '{}'"
    )
    assert count(central_url, version_two.format("callback_set")) == 1
