"""Backend adapters against real servers: the demo FHIR server, a misbehaving one, and a SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from agentdesk.demo.fhir_server import DemoFhirServer
from agentdesk.demo.population import write_demo_data
from agentdesk.records.backends import BackendError
from agentdesk.records.backends.fhir import FhirBackend
from agentdesk.records.backends.sql import SqlBackend
from agentdesk.records.lookup import ProfileLookup
from agentdesk.records.model import SourceState
from tests.servers import MisbehavingFhir, serve


def test_fhir_backend_finds_patients_whatever_spelling_the_server_stored(tmp_path: Path) -> None:
    data = write_demo_data(tmp_path, count=60, seed=7)
    server = DemoFhirServer(data.fhir_file)
    server.start()
    people = [p for p in data.people if p.in_ehr]

    async def scenario() -> list[list[str]]:
        backend = FhirBackend("EHR", server.base_url, timeout_seconds=2)
        try:
            found = []
            for person in people[:15]:
                records = await backend.find_by_phone(person.phone_e164)
                found.append([r.get("family_name") for r in records])
            return found
        finally:
            await backend.aclose()

    try:
        results = asyncio.run(scenario())
    finally:
        server.stop()
    for person, families in zip(people[:15], results, strict=True):
        assert person.family_name in families


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("html", "text/html, not FHIR JSON"),
        ("badjson", "invalid JSON"),
        ("outcome", "OperationOutcome (invalid)"),
        ("401", "not authorised"),
        ("500", "HTTP 500"),
        ("redirect", "redirected elsewhere"),
        ("nowhere", "OperationOutcome (not-found)"),
    ],
)
def test_fhir_backend_bad_answers_become_clear_reasons(mode: str, reason: str) -> None:
    async def scenario(base: str) -> str:
        backend = FhirBackend("EHR", f"{base}/{mode}", timeout_seconds=2)
        try:
            with pytest.raises(BackendError) as caught:
                await backend.find_by_phone("+16175550111")
            return str(caught.value)
        finally:
            await backend.aclose()

    with serve(MisbehavingFhir) as base:
        message = asyncio.run(scenario(base))
    assert reason in message
    assert "6175550111" not in message  # the server's diagnostics echo the phone; the message must not


def test_fhir_backend_survives_odd_resources_and_caps_huge_bundles() -> None:
    async def scenario(base: str) -> tuple[list[str], str]:
        odd = FhirBackend("EHR", f"{base}/odd")
        # A generous deadline: the test server needs seconds to serialise 50,000 entries on a loaded machine,
        # and the point here is the size cap, not the timeout.
        huge = FhirBackend("EHR", f"{base}/huge", timeout_seconds=60)
        try:
            odd_records = await odd.find_by_phone("+16175550111")
            with pytest.raises(BackendError) as caught:
                await huge.find_by_phone("+16175550111")
            return [r.record_id for r in odd_records], str(caught.value)
        finally:
            await odd.aclose()
            await huge.aclose()

    with serve(MisbehavingFhir) as base:
        odd_ids, huge_reason = asyncio.run(scenario(base))
    assert odd_ids == ["weird", "odd-1"]
    assert "larger than 8 MB" in huge_reason  # 50,000 entries: refused whole, never parsed into the panel


def test_lookup_marks_a_hanging_source_and_shows_the_others(tmp_path: Path) -> None:
    crm = tmp_path / "crm.db"
    with sqlite3.connect(crm) as db:
        db.execute("CREATE TABLE people (id TEXT, first TEXT, last TEXT, dob TEXT, phone TEXT)")
        db.execute("INSERT INTO people VALUES ('c1', 'Ngozi', 'Okafor', '1975-07-19', '+16175550111')")
    updates = []

    async def scenario(base: str):  # type: ignore[no-untyped-def]
        lookup = ProfileLookup(
            [
                FhirBackend("EHR", f"{base}/hang", timeout_seconds=0.3),
                FhirBackend("Broken", f"{base}/html", priority=5),
                SqlBackend(
                    "CRM",
                    f"sqlite:///{crm}",
                    "SELECT id, first, last, dob, phone FROM people WHERE phone = :phone",
                    {"given_name": "first", "family_name": "last", "birth_date": "dob"},
                ),
            ]
        )
        try:
            return await lookup.lookup("call-1", "+16175550111", updates.append)
        finally:
            await lookup.aclose()

    with serve(MisbehavingFhir) as base:
        result = asyncio.run(scenario(base))
    states = {s.name: s.state for s in result.sources}
    assert states == {"EHR": SourceState.TIMEOUT, "Broken": SourceState.ERROR, "CRM": SourceState.OK}
    assert [p.display_name for p in result.patients] == ["Ngozi Okafor"]
    assert result.done and updates[0].done is False and updates[-1].done
    assert all(s.state is SourceState.PENDING for s in updates[0].sources)


def test_sql_backend_maps_columns_and_reports_failures_without_data(tmp_path: Path) -> None:
    crm = tmp_path / "crm.db"
    with sqlite3.connect(crm) as db:
        db.execute("CREATE TABLE c (contact_id TEXT, fn TEXT, ln TEXT, email TEXT, updated_at TEXT, phone TEXT)")
        db.execute(
            "INSERT INTO c VALUES ('7', 'Ana', 'Lopez', 'ANA@EXAMPLE.ORG', '2026-03-01T10:00:00Z', '6175550123')"
        )

    async def scenario():  # type: ignore[no-untyped-def]
        good = SqlBackend(
            "CRM",
            f"sqlite:///{crm}",
            "SELECT contact_id AS record_id, fn, ln, email, updated_at FROM c WHERE phone = :phone_national",
            {"given_name": "fn", "family_name": "ln"},
        )
        broken = SqlBackend("CRM2", f"sqlite:///{crm}", "SELECT * FROM missing_table WHERE phone = :phone")
        try:
            records = await good.find_by_phone("+16175550123")
            with pytest.raises(BackendError) as caught:
                await broken.find_by_phone("+16175550123")
            return records, str(caught.value)
        finally:
            await good.aclose()
            await broken.aclose()

    records, message = asyncio.run(scenario())
    (found,) = records
    assert found.fields == {"given_name": "Ana", "family_name": "Lopez", "email": "ana@example.org"}
    assert found.updated is not None and found.updated.year == 2026
    assert message == "query failed (OperationalError)"


def test_sql_backend_answers_the_agents_searches_with_their_own_queries(tmp_path: Path) -> None:
    crm = tmp_path / "crm.db"
    with sqlite3.connect(crm) as db:
        db.execute("CREATE TABLE c (id TEXT, mrn TEXT, first TEXT, last TEXT, dob TEXT, phone TEXT)")
        db.execute("INSERT INTO c VALUES ('7', 'MRN0042', 'Ana', 'Lopez', '1984-02-03', '+16175550123')")
        db.execute("INSERT INTO c VALUES ('8', 'MRN0043', 'Ana', 'Lopez', '1990-01-01', '+16175550124')")

    async def scenario():  # type: ignore[no-untyped-def]
        backend = SqlBackend(
            "CRM",
            f"sqlite:///{crm}",
            "SELECT id, first, last, dob FROM c WHERE phone = :phone",
            {"given_name": "first", "family_name": "last", "birth_date": "dob", "mrn": "mrn"},
            mrn_query="SELECT id, mrn, first, last, dob FROM c WHERE mrn = :mrn",
            name_query="SELECT id, first, last, dob FROM c WHERE last = :family_name AND dob = :birth_date",
        )
        try:
            by_mrn = await backend.find_by_identifier("MRN0043")
            by_name = await backend.find_by_name("Ana", "Lopez", "1984-02-03")
            return backend.search_keys, [r.record_id for r in by_mrn], [r.record_id for r in by_name]
        finally:
            await backend.aclose()

    keys, by_mrn, by_name = asyncio.run(scenario())
    assert keys == frozenset({"mrn", "name"}) and by_mrn == ["8"] and by_name == ["7"]


def test_a_source_supplies_only_the_fields_it_is_configured_for(tmp_path: Path) -> None:
    from agentdesk.config.schema import FhirBackendSettings
    from agentdesk.records.backends.factory import build_backend

    data = write_demo_data(tmp_path, count=30, seed=2)
    server = DemoFhirServer(data.fhir_file, data.related_file, data.people)
    server.start()
    person = next(p for p in data.people if p.in_ehr and p.email)
    settings = FhirBackendSettings(
        kind="fhir", name="EHR", base_url=server.base_url, supplies=["given_name", "family_name", "birth_date"]
    )

    async def scenario():  # type: ignore[no-untyped-def]
        backend = build_backend(settings, "US")
        try:
            return await backend.find_by_phone(person.phone_e164)
        finally:
            await backend.aclose()

    try:
        records = asyncio.run(scenario())
    finally:
        server.stop()
    assert records and all(set(r.fields) <= {"given_name", "family_name", "birth_date"} for r in records)
    assert any(r.fields.get("family_name") == person.family_name for r in records)
    with pytest.raises(ValueError, match="unknown field"):
        FhirBackendSettings(kind="fhir", name="EHR", base_url=server.base_url, supplies=["shoe_size"])


def test_a_built_backend_imports_nothing_during_the_first_callers_lookup(tmp_path: Path) -> None:
    """The desk builds its backends on a worker thread at start; whatever the first lookup would import (httpx's
    async machinery, the phone-number library) is imported there, not on the GUI loop while the first caller
    waits. A fresh interpreter, so that nothing another test imported hides a first-use import."""
    import json
    import subprocess
    import sys

    from agentdesk.demo.setup import MARKETING

    data = write_demo_data(tmp_path, count=30, seed=2)
    server = DemoFhirServer(data.fhir_file, data.related_file, data.people)
    server.start()
    person = next(p for p in data.people if p.in_ehr)
    rest = {**MARKETING, "url_templates": {"phone": f"{server.root_url}/marketing/contacts?phone={{phone}}"}}
    script = f"""
import asyncio, json, sys
from agentdesk.config.schema import FhirBackendSettings, RestBackendSettings
from agentdesk.records.backends.factory import build_backend
backends = [
    build_backend(FhirBackendSettings(kind="fhir", name="EHR", base_url={server.base_url!r}), "US"),
    build_backend(RestBackendSettings(**json.loads({json.dumps(rest)!r})), "US"),
]
async def first_call():
    before = set(sys.modules)
    found = [await backend.find_by_phone({person.phone_e164!r}) for backend in backends]
    imported = sorted(set(sys.modules) - before)
    for backend in backends:
        await backend.aclose()
    return found, imported
found, imported = asyncio.run(first_call())
print(json.dumps({{"found": [len(records) for records in found], "imported": imported}}))
"""
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    finally:
        server.stop()
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["found"][0] >= 1  # the lookup really went over HTTP
    assert answer["imported"] == []
