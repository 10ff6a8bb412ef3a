"""Two desks and a real PostgreSQL: what one desk decides (and saves) reaches the central store and the other
desk, retries never duplicate, and a desk that cannot reach the central store keeps working and catches up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from agentdesk.records.decisions import Decision, DecisionBook, IdentityDecision
from agentdesk.store.central import CentralStore, CentralStoreError
from agentdesk.store.dispositions import Disposition
from agentdesk.store.local import LocalStore
from agentdesk.store.sync import OutboxSync


def test_decisions_and_dispositions_reach_the_other_desk(central_url: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        books = [DecisionBook(), DecisionBook()]
        desks = [LocalStore(tmp_path / f"desk{i}.sqlite3") for i in range(2)]
        syncs = []
        for store, book in zip(desks, books, strict=True):
            await store.open()
            syncs.append(
                OutboxSync(store, CentralStore(central_url), lambda new, book=book: [book.record(d) for d in new])
            )
        split = IdentityDecision("CRM:C-00042", "EHR:p00042", Decision.DIFFERENT)
        await desks[0].record_identity_decisions([split], "dana")
        await desks[0].save_disposition(
            Disposition(call_id="c1", agent_id="dana", disposition_code="referral_made", outcome="referral")
        )
        first = await syncs[0].sync_once()
        assert first.pushed == 2
        again = await syncs[0].sync_once()  # nothing left in the outbox, nothing new to pull
        assert (again.pushed, again.pulled) == (0, 0)
        second = await syncs[1].sync_once()
        assert second.pulled == 1
        assert books[1].get("EHR:p00042", "CRM:C-00042") is Decision.DIFFERENT
        assert await desks[1].identity_decisions() == [split]  # the other desk's later lookups honour it too
        for sync in syncs:
            await sync.stop()
        for store in desks:
            await store.close()

    asyncio.run(scenario())
    engine = sa.create_engine(central_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM dispositions")).scalar() == 1
        assert connection.execute(sa.text("SELECT count(*) FROM identity_decisions")).scalar() == 1
    engine.dispose()


def test_a_retried_push_never_duplicates(central_url: str) -> None:
    central = CentralStore(central_url)
    row = {
        "id": "11111111-2222-3333-4444-555555555555",
        "left_ref": "A:1",
        "right_ref": "B:2",
        "decision": "same",
        "agent_id": "dana",
        "call_id": "",
        "at": datetime.now(UTC),
    }
    central.push("identity_decisions", [row])
    central.push("identity_decisions", [row])  # the desk did not hear the answer and sends it again
    assert sum(1 for r in central.decisions_since(None) if r["id"] == row["id"]) == 1
    central.dispose()


def test_unreachable_central_store_keeps_the_outbox(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = LocalStore(tmp_path / "desk.sqlite3")
        await store.open()
        await store.save_disposition(Disposition(call_id="c9", agent_id="dana", disposition_code="x", outcome="other"))
        sync = OutboxSync(store, CentralStore("postgresql+psycopg://agentdesk@127.0.0.1:9/agentdesk"), lambda _: None)
        with pytest.raises(CentralStoreError, match="push failed"):
            await sync.sync_once()
        assert len(await store.unsynced("dispositions")) == 1  # still waiting, nothing lost
        await sync.stop()
        await store.close()

    asyncio.run(scenario())


def test_db_upgrade_and_check_commands(central_url: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    admin = sa.create_engine(central_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text("CREATE DATABASE fresh"))
    admin.dispose()
    config = tmp_path / "central.toml"
    config.write_text(f'[store]\ncentral_url = "{central_url.rsplit("/", 1)[0]}/fresh"\n', encoding="utf-8")

    def db(action: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agentdesk", "--config", str(config), "--basedir", str(tmp_path), "db", action],
            capture_output=True,
            text=True,
            timeout=120,
        )

    before = db("check")
    assert before.returncode == 1 and "run agentdesk db upgrade" in before.stderr
    upgraded = db("upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert db("check").returncode == 0
    config.write_text('[store]\ncentral_url = "postgresql+psycopg://agentdesk:hunter2@127.0.0.1:9/x"\n')
    refused = db("check")  # a password in the file is a configuration error, and is not echoed
    assert refused.returncode == 2 and "store.central_url" in refused.stderr and "hunter2" not in refused.stderr
    config.write_text('[store]\ncentral_url = "postgresql+psycopg://agentdesk@127.0.0.1:9/x"\n')
    unreachable = db("check")
    assert unreachable.returncode == 1 and "unreachable" in unreachable.stderr


@pytest.mark.gui
def test_the_running_desk_syncs_with_the_central_store(qtbot, run_async, central_url: str, tmp_path: Path) -> None:
    from tests.support import make_app, start_shown, wait_until

    app = make_app(tmp_path, f'[store]\ncentral_url = "{central_url}"\n', qtbot=qtbot)

    async def scenario() -> None:
        await start_shown(app)
        await wait_until(
            lambda: app.window.sync_status.text() == "Central: synced" and app.window.sync_button.isVisible(),
            timeout=20,
            what="the first sync",
        )
        await app.store.save_disposition(
            Disposition(call_id="gui-1", agent_id="dana", disposition_code="appointment_booked", outcome="booking")
        )
        await app.sync.sync_once()
        assert await app.store.unsynced("dispositions") == []
        await app.stop()

    run_async(scenario())
    engine = sa.create_engine(central_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM dispositions WHERE call_id = 'gui-1'")).scalar() == 1
    engine.dispose()
