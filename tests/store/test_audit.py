"""The audit trail: written with what it audits (or before the data is shown), hash-chained per workstation,
tamper-evident locally and centrally (`agentdesk audit verify`), and answerable for privacy officers
(`agentdesk audit who-viewed`, supervisors and admins only)."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from agentdesk.config.operator import os_login
from agentdesk.store.audit import AuditEntry
from agentdesk.store.central import CentralStore
from agentdesk.store.local import LocalStore
from tests.conftest import wait_until
from tests.store.test_store_safety import disposition
from tests.support import make_app, name_of, single_callers, start_shown

AGENTDESK = [sys.executable, "-m", "agentdesk"]


def agentdesk(basedir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AGENTDESK, "--basedir", str(basedir), *args], capture_output=True, text=True, timeout=60)


def seed(store_path: Path, count: int = 6) -> None:
    async def write() -> None:
        store = LocalStore(store_path)
        await store.open()
        try:
            for n in range(count):
                await store.audit([AuditEntry("agent", "records_shown", f"EHR:p{n}", f"call-{n}")])
            store.log_profile_view("agent", "EHR:p1", "call-1")
            await store.flush()
            await store.save_disposition(
                disposition("call-1"), audit=[AuditEntry("agent", "wrap_up", "EHR:p1", "call-1")]
            )
        finally:
            await store.close()

    asyncio.run(write())


def seed_and_send(basedir: Path, central_url: str, which: str = "") -> None:
    """A desk's audit rows, seeded, then (those `which` selects) pushed as the outbox sends them."""
    store_path = basedir / "data" / "agentdesk.sqlite3"
    seed(store_path)
    with sqlite3.connect(store_path) as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute(f"SELECT * FROM audit_events {which}")]
    central = CentralStore(central_url)
    central.push("audit_events", rows)
    central.dispose()


def test_a_wrapup_and_its_audit_row_commit_together(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"

    async def scenario() -> None:
        store = LocalStore(path)
        await store.open()
        try:
            await store.save_disposition(
                disposition("c-9"), audit=[AuditEntry("agent", "wrap_up", "EHR:p1", "c-9", "information_provided")]
            )
            # Nothing queued, nothing flushed: what another connection sees the moment the save returned.
            with sqlite3.connect(path) as db:
                rows = db.execute("SELECT action, call_id, seq, hash FROM audit_events").fetchall()
            assert [(a, c) for a, c, _s, _h in rows] == [("wrap_up", "c-9")] and rows[0][2] == 1 and rows[0][3]
        finally:
            await store.close()

    asyncio.run(scenario())


def test_verify_finds_a_deleted_an_edited_and_a_reordered_row(tmp_path: Path) -> None:
    store = tmp_path / "data" / "agentdesk.sqlite3"
    seed(store)
    clean = agentdesk(tmp_path, "audit", "verify")
    assert clean.returncode == 0 and "8 audit row(s) on 1 workstation chain(s): intact" in clean.stdout

    def tamper(sql: str) -> subprocess.CompletedProcess[str]:
        with sqlite3.connect(store) as db:
            db.execute(sql)
        return agentdesk(tmp_path, "audit", "verify")

    deleted = tamper("DELETE FROM audit_events WHERE seq = 3")
    assert deleted.returncode == 1 and "#4: deleted: #3 missing" in deleted.stdout
    assert "tampered with" in deleted.stderr
    edited = tamper("UPDATE audit_events SET patient_key = 'EHR:someone-else' WHERE seq = 5")
    assert edited.returncode == 1 and "#5: edited" in edited.stdout
    # Reordered: two rows trade places (their numbers swapped, so the numbering itself has no gap).
    tamper("UPDATE audit_events SET seq = -1 WHERE seq = 6")
    tamper("UPDATE audit_events SET seq = 6 WHERE seq = 7")
    reordered = tamper("UPDATE audit_events SET seq = 7 WHERE seq = -1")
    assert reordered.returncode == 1
    assert "#6: deleted or reordered" in reordered.stdout or "#6: edited" in reordered.stdout


def test_the_central_copy_is_verified_too(tmp_path: Path, central_url: str) -> None:
    seed_and_send(tmp_path, central_url)
    config = tmp_path / "central.toml"
    config.write_text(f'[store]\ncentral_url = "{central_url}"\n', encoding="utf-8")
    intact = agentdesk(tmp_path, "--config", str(config), "audit", "verify", "--central")
    assert intact.returncode == 0 and "central store: 8 audit row(s)" in intact.stdout, intact.stderr
    engine = sa.create_engine(central_url)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_events WHERE seq = 2"))
        connection.execute(sa.text("UPDATE audit_events SET agent_id = 'nobody' WHERE seq = 4"))
    engine.dispose()
    tampered = agentdesk(tmp_path, "--config", str(config), "audit", "verify", "--central")
    assert tampered.returncode == 1
    assert "#3: deleted: #2 missing" in tampered.stdout and "#4: edited" in tampered.stdout


def test_who_viewed_is_for_supervisors_and_admins(tmp_path: Path) -> None:
    seed(tmp_path / "data" / "agentdesk.sqlite3")
    refused = agentdesk(tmp_path, "audit", "who-viewed", "--patient", "EHR:p1")
    assert refused.returncode == 1 and "not a supervisor or admin" in refused.stderr
    machine = tmp_path / "machine" / "agentdesk.toml"
    machine.parent.mkdir()
    machine.write_text(f'[security]\nsupervisors = ["{os_login()}"]\n', encoding="utf-8")
    answer = agentdesk(tmp_path, "audit", "who-viewed", "--patient", "EHR:p1", "--from", "2000-01-01")
    assert answer.returncode == 0, answer.stderr
    actions = [line.split()[3] for line in answer.stdout.splitlines()]
    assert actions == ["records_shown", "profile_view", "wrap_up"]
    assert "EHR:p1: shown 2 time(s), 3 audit row(s)" in answer.stderr
    nothing = agentdesk(tmp_path, "audit", "who-viewed", "--patient", "EHR:p1", "--to", "2000-01-01")
    assert nothing.returncode == 0 and nothing.stdout == ""
    # A role written into the user's own file is refused, not honoured.
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "agentdesk.toml").write_text('[security]\nadmins = ["x"]\n', encoding="utf-8")
    forged = agentdesk(tmp_path, "audit", "who-viewed", "--patient", "EHR:p1")
    assert forged.returncode == 2 and "only the machine-wide config file may set this" in forged.stderr


@pytest.mark.gui
def test_records_are_audited_before_any_panel_or_notification_gets_them(qtbot, run_async, tmp_path: Path) -> None:
    caller = single_callers(tmp_path)[0]
    app = make_app(tmp_path, qtbot=qtbot)
    unaudited: list[str] = []
    checked: list[str] = []

    def check(context: object) -> None:
        lookup = getattr(context, "lookup", None)
        if lookup is None or not lookup.records:
            return
        with sqlite3.connect(app.store.path) as db:
            keys = [k for (k,) in db.execute("SELECT patient_key FROM audit_events WHERE action = 'records_shown'")]
        audited = {ref for key in keys for ref in key.split(";")}
        checked.extend(r.ref for r in lookup.records)
        unaudited.extend(r.ref for r in lookup.records if r.ref not in audited)

    async def scenario() -> None:
        await start_shown(app)
        app.desk.on.lookup.append(check)  # called with the panels and the notifier: the rows must be there
        app.simulator.simulate_call(ani=caller.phone_e164, dnis="+18005550142")
        await wait_until(lambda: app.window.profile.name_label.text() == name_of(caller), what="the pop")
        await app.stop()

    run_async(scenario())
    assert checked and unaudited == []


def test_a_role_kept_in_the_central_store_opens_who_viewed(tmp_path: Path, central_url: str) -> None:
    seed_and_send(tmp_path, central_url, "WHERE patient_key = 'EHR:p3'")
    config = tmp_path / "central.toml"
    config.write_text(f'[store]\ncentral_url = "{central_url}"\n', encoding="utf-8")
    ask = ("--config", str(config), "audit", "who-viewed", "--patient", "EHR:p3", "--central")
    assert agentdesk(tmp_path, *ask).returncode == 1  # no role anywhere yet
    engine = sa.create_engine(central_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO agent_roles (login, role) VALUES (:l, 'supervisor')"), {"l": os_login()}
        )
    engine.dispose()
    allowed = agentdesk(tmp_path, *ask)
    assert allowed.returncode == 0, allowed.stderr
    # (the module's central store also holds the verify test's rows: the same seeded references)
    assert {line.split()[3] for line in allowed.stdout.splitlines()} == {"records_shown"}
