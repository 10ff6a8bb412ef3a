"""The local store: Alembic-migrated SQLite, durable writes, validation before anything is written."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from agentdesk.store.dispositions import Disposition, DispositionInvalid
from agentdesk.store.local import MIGRATIONS, LocalStore


def migration_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return str(ScriptDirectory.from_config(config).get_current_head())


def test_migrations_create_schema_and_rows_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"

    async def first() -> str:
        store = LocalStore(path)
        await store.open()
        disposition = Disposition(
            call_id="c1",
            agent_id="dana",
            disposition_code="referral_made",
            outcome="referral",
            campaign_code="HEART-TV",
            notes="Referred to cardiology",
        )
        await store.save_disposition(disposition)
        await store.log_profile_view("dana", "EHR:p1", "c1")
        await store.close()
        return disposition.id

    async def second() -> list[dict[str, object]]:
        store = LocalStore(path)
        await store.open()  # migrating an up-to-date store is a no-op
        rows = await store.dispositions()
        await store.close()
        return rows

    saved_id = asyncio.run(first())
    rows = asyncio.run(second())
    assert [(r["id"], r["disposition_code"], r["notes"]) for r in rows] == [
        (saved_id, "referral_made", "Referred to cardiology")
    ]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone() == (migration_head(),)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"dispositions", "call_events", "agent_states", "audit_events"} <= tables


def test_a_wrapup_saved_twice_is_one_disposition_in_its_second_version(tmp_path: Path) -> None:
    async def scenario() -> list[dict[str, object]]:
        store = LocalStore(tmp_path / "s.sqlite3")
        await store.open()
        first = await store.save_disposition(
            Disposition(call_id="c1", agent_id="dana", disposition_code="x", outcome="other")
        )
        # The agent saves again (a double click, or a correction): a new Disposition object, the same call.
        second = await store.save_disposition(
            Disposition(call_id="c1", agent_id="dana", disposition_code="y", outcome="info", notes="fixed")
        )
        assert (first.version, second.version, second.id) == (1, 2, first.id)
        rows = await store.dispositions()
        await store.close()
        return rows

    rows = asyncio.run(scenario())
    assert [(r["disposition_code"], r["version"], r["notes"]) for r in rows] == [("y", 2, "fixed")]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"disposition_code": ""}, "disposition"),
        ({"disposition_code": "teleported"}, "disposition"),
        ({"notes": "x" * 4001}, "notes"),
        ({"notes": "a\x00b"}, "notes"),
        ({"call_id": ""}, "call"),
    ],
)
def test_disposition_validation_names_the_field(changes: dict[str, str], field: str) -> None:
    values = {"call_id": "c1", "agent_id": "dana", "disposition_code": "appointment_booked", "outcome": "booking"}
    values.update(changes)
    with pytest.raises(DispositionInvalid) as caught:
        Disposition(**values).validate({"appointment_booked"})  # type: ignore[arg-type]
    assert caught.value.field == field


def test_agent_state_rows_are_closed_when_the_next_starts(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    async def scenario() -> list[dict[str, object]]:
        store = LocalStore(tmp_path / "s.sqlite3")
        await store.open()
        await store.record_agent_state("dana", "available", "", datetime(2026, 1, 1, 9, tzinfo=UTC))
        await store.record_agent_state("dana", "not_ready", "Lunch", datetime(2026, 1, 1, 12, tzinfo=UTC))
        rows = await store.agent_states()
        await store.close()
        return rows

    latest, first = asyncio.run(scenario())
    assert first["state"] == "available" and first["ended_at"] is not None
    assert latest["reason"] == "Lunch" and latest["ended_at"] is None
