"""`agentdesk export`: the dispositions saved (with their details' latest version) come out as CSV or JSON, from the
local store and from the central one; notes only when asked for; formulas stay text; bad dates are named."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agentdesk.cli import main
from agentdesk.store.central import CentralStore
from agentdesk.store.dispositions import Disposition
from agentdesk.store.local import LocalStore
from agentdesk.store.outcomes import WrapUpForm, read_outcomes
from agentdesk.store.sync import OutboxSync

SOON = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d 10:30")
BOOKING = {"provider": "Dr. Ada Quill", "location": "Heart Center", "visit_type": "Consult", "start": SOON}
REFERRAL = {"target": "Cardiology", "reason": "Chest pain", "urgency": "urgent"}
TODAY = datetime.now().astimezone().date().isoformat()


def save_some(database: Path, central_url: str = "") -> None:
    async def scenario() -> None:
        store = LocalStore(database)
        await store.open()
        for call_id, code, details, notes in (
            ("e-1", "appointment_booked", {"booking": BOOKING, "referral": REFERRAL}, "=HYPERLINK(1)"),
            ("e-2", "information_provided", {}, "asked about parking"),
        ):
            form = WrapUpForm(code, notes, details)
            outcomes = read_outcomes(form, set(), agent_id="dana", time_zone="UTC", now=datetime.now(UTC))
            disposition = Disposition(call_id=call_id, agent_id="dana", disposition_code=code, outcome="x", notes=notes)
            await store.save_disposition(disposition, outcomes)
        # e-1 corrected: the booking moves to another provider and the referral is dropped (version 2).
        form = WrapUpForm("appointment_booked", "=HYPERLINK(1)", {"booking": {**BOOKING, "provider": "Dr. Ben Ode"}})
        outcomes = read_outcomes(form, set(), agent_id="dana", time_zone="UTC", now=datetime.now(UTC))
        again = Disposition(
            call_id="e-1", agent_id="dana", disposition_code="appointment_booked", outcome="x", notes=form.notes
        )
        await store.save_disposition(again, outcomes)
        if central_url:
            sync = OutboxSync(store, CentralStore(central_url), lambda _: None)
            await sync.sync_once()
            await sync.stop()
        await store.close()

    asyncio.run(scenario())


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def agentdesk(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """The command line, in this process (the subprocess round trip is the CLI tests' business)."""

    def run(tmp_path: Path, *arguments: str, config: str = "") -> Result:
        config_file = tmp_path / "export.toml"
        config_file.write_text(config or f'[store]\nlocal_path = "{tmp_path / "desk.sqlite3"}"\n', encoding="utf-8")
        capsys.readouterr()
        code = main(["--config", str(config_file), "--basedir", str(tmp_path), *arguments])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def test_export_csv_and_json_match_what_was_saved(agentdesk: Callable[..., Result], tmp_path: Path) -> None:
    save_some(tmp_path / "desk.sqlite3")
    as_csv = agentdesk(tmp_path, "export", "--from", TODAY, "--to", TODAY)
    assert as_csv.returncode == 0, as_csv.stderr
    rows = sorted(csv.DictReader(io.StringIO(as_csv.stdout)), key=lambda r: r["call_id"])  # re-saved e-1 is newer
    assert [(r["call_id"], r["disposition_code"], r["version"]) for r in rows] == [
        ("e-1", "appointment_booked", "2"),
        ("e-2", "information_provided", "1"),
    ]
    assert "notes" not in rows[0]  # only with --with-notes
    assert [b["provider"] for b in json.loads(rows[0]["bookings"])] == ["Dr. Ben Ode"]
    assert json.loads(rows[0]["referrals"]) == []  # dropped in version 2

    out = tmp_path / "export.json"
    as_json = agentdesk(
        tmp_path, "export", "--from", TODAY, "--to", TODAY, "--format", "json", "--with-notes", "--out", str(out)
    )
    assert as_json.returncode == 0, as_json.stderr
    assert "2 disposition(s) written" in as_json.stderr
    exported = sorted(json.loads(out.read_text(encoding="utf-8")), key=lambda r: r["call_id"])
    assert exported[1]["notes"] == "asked about parking"
    assert exported[0]["bookings"][0]["visit_type"] == "Consult"
    assert exported[0]["bookings"][0]["starts_at"].endswith("+00:00")

    with_notes = agentdesk(tmp_path, "export", "--from", TODAY, "--to", TODAY, "--with-notes")
    notes = {r["call_id"]: r["notes"] for r in csv.DictReader(io.StringIO(with_notes.stdout))}
    assert notes == {"e-1": "'=HYPERLINK(1)", "e-2": "asked about parking"}  # a formula stays text in a spreadsheet

    yesterday = (datetime.now().astimezone().date() - timedelta(days=1)).isoformat()
    empty = agentdesk(tmp_path, "export", "--from", yesterday, "--to", yesterday, "--format", "json")
    assert json.loads(empty.stdout) == []


def test_export_from_the_central_store(agentdesk: Callable[..., Result], central_url: str, tmp_path: Path) -> None:
    save_some(tmp_path / "desk.sqlite3", central_url)
    result = agentdesk(
        tmp_path,
        "export",
        "--from",
        TODAY,
        "--to",
        TODAY,
        "--central",
        "--format",
        "json",
        config=f'[store]\ncentral_url = "{central_url}"\n',
    )
    assert result.returncode == 0, result.stderr
    exported = sorted(json.loads(result.stdout), key=lambda r: r["call_id"])
    assert [(r["call_id"], r["version"], len(r["bookings"]), len(r["referrals"])) for r in exported] == [
        ("e-1", 2, 1, 0),
        ("e-2", 1, 0, 0),
    ]


def test_bad_arguments_are_named(agentdesk: Callable[..., Result], tmp_path: Path) -> None:
    bad_date = agentdesk(tmp_path, "export", "--from", "last tuesday", "--to", TODAY)
    assert bad_date.returncode == 2 and "--from" in bad_date.stderr
    backwards = agentdesk(tmp_path, "export", "--from", TODAY, "--to", "2020-01-01")
    assert backwards.returncode == 2 and "--to" in backwards.stderr
    nothing = agentdesk(tmp_path, "export", "--from", TODAY, "--to", TODAY)
    assert nothing.returncode == 1 and "no local store" in nothing.stderr
    no_central = agentdesk(tmp_path, "export", "--from", TODAY, "--to", TODAY, "--central")
    assert no_central.returncode == 2 and "store.central_url" in no_central.stderr


def export_audit_rows(database: Path) -> list[dict[str, object]]:
    async def read() -> list[dict[str, object]]:
        store = LocalStore(database)
        await store.open()
        try:
            return [row for row in await store.audit_rows() if row["action"] == "export"]
        finally:
            await store.close()

    return asyncio.run(read())


def test_every_export_is_audited_without_patient_data(
    agentdesk: Callable[..., Result], central_url: str, tmp_path: Path
) -> None:
    from agentdesk.config.operator import os_login
    from agentdesk.store.audit import ChainReport, verify

    database = tmp_path / "desk.sqlite3"
    save_some(database, central_url)
    local = agentdesk(tmp_path, "export", "--from", TODAY, "--to", TODAY, "--with-notes")
    assert local.returncode == 0, local.stderr
    config = f'[store]\nlocal_path = "{database}"\ncentral_url = "{central_url}"\n'
    central = agentdesk(
        tmp_path, "export", "--from", TODAY, "--to", TODAY, "--central", "--format", "json", config=config
    )
    assert central.returncode == 0, central.stderr
    first, second = export_audit_rows(database)
    assert first["agent_id"] == second["agent_id"] == os_login()  # who
    assert str(first["detail"]).startswith("local ") and str(second["detail"]).startswith("central ")
    everyone = len(json.loads(central.stdout))  # every desk's (other tests of this module share the server)
    assert "rows=2 csv with-notes" in str(first["detail"]) and f"rows={everyone} json" in str(second["detail"])
    start = datetime.fromisoformat(TODAY).astimezone().astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
    assert str(first["detail"]).split()[1].startswith(f"{start}..")  # which range
    for row in (first, second):  # nothing about the patients or calls exported
        assert row["patient_key"] == "" and row["call_id"] == ""
        assert not any(word in str(row["detail"]) for word in ("Ada", "Quill", "Cardiology", "parking", "e-1"))

    async def chain() -> ChainReport:
        store = LocalStore(database)
        await store.open()
        try:
            return verify(await store.audit_rows())
        finally:
            await store.close()

    assert not asyncio.run(chain()).problems
