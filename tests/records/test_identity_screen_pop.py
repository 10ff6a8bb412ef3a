"""Screen pop on an EHR set up the way real ones are: the real FHIR engine holding MRNs under their own identifier
system (not coded 'MR') and numbers stored as 617-555-0123, plus a SQLite CRM whose records disagree the usual
ways (a first name cut short, an initial). One search finds the caller, the MRN system is read and compared only
within its system, and a shortened name does not split the caller in two. All data is synthetic."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentdesk.records.backends.factory import SuppliedFields
from agentdesk.records.backends.fhir import FhirBackend
from agentdesk.records.backends.sql import SqlBackend
from agentdesk.records.lookup import ProfileLookup
from agentdesk.records.merge import MatcherRule, merge_records
from agentdesk.records.model import LookupResult, SourceRecord
from tests.fhir_engine.harness import FhirEngine, post_transaction, run_fhir_engine

MRN_SYSTEM = "urn:mrn"
# (given in the EHR, given in the CRM, family, birth date, phone digits, MRN)
CALLERS = [
    ("Jacqueline", "Jac", "Vantongeren", "1971-05-19", "6175550131", "A-70001"),
    ("Maximilian", "M", "Okonkwo-Reyes", "1990-12-02", "6175550132", "A-70002"),
    ("Christopher", "Chris", "Lindqvist", "1958-03-27", "6175550133", "A-70003"),
    ("Annabel", "Annabel", "Featherstonehaugh", "2004-08-08", "6175550134", "A-70004"),
]
CRM_QUERY = "SELECT id, first_name, last_name, dob, phone, mrn FROM contacts WHERE phone = :phone_national"


def _patient(given: str, family: str, birth: str, digits: str, mrn: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        # The MRN under the hospital's own system, without the v2 'MR' type coding many EHRs leave out.
        "identifier": [{"system": MRN_SYSTEM, "value": mrn}, {"system": "urn:other", "value": f"X{mrn}"}],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "telecom": [{"system": "phone", "value": f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"}],
        "birthDate": birth,
        "address": [{"use": "home", "line": ["1 Example Street"], "postalCode": "02134"}],
    }


@dataclass
class Systems:
    engine: FhirEngine
    crm: Path


@pytest.fixture(scope="module")
def systems(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Systems]:
    folder = tmp_path_factory.mktemp("identity-pop")
    crm = folder / "crm.sqlite3"
    with sqlite3.connect(crm) as db:
        db.execute("CREATE TABLE contacts (id TEXT, first_name TEXT, last_name TEXT, dob TEXT, phone TEXT, mrn TEXT)")
        db.executemany(
            "INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?)",
            [
                (f"C{n}", crm_given, family, birth, digits, mrn)
                for n, (_, crm_given, family, birth, digits, mrn) in enumerate(CALLERS)
            ],
        )
    with run_fhir_engine(folder) as engine:
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": _patient(given, family, birth, digits, mrn),
                    "request": {"method": "POST", "url": "Patient"},
                }
                for given, _, family, birth, digits, mrn in CALLERS
            ],
        }
        post_transaction(engine.base_url, bundle)
        yield Systems(engine, crm)


class Counting(httpx.AsyncBaseTransport):
    """A real transport to the engine that counts the Patient searches."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.patient_searches = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/Patient"):
            self.patient_searches += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _ehr(systems: Systems, transport: Counting, **options: str) -> FhirBackend:
    return FhirBackend("EHR", systems.engine.base_url, priority=10, timeout_seconds=5, transport=transport, **options)


def closing(backend: FhirBackend, search: Callable[[FhirBackend], Awaitable[list[SourceRecord]]]) -> list[SourceRecord]:
    async def run() -> list[SourceRecord]:
        try:
            return await search(backend)
        finally:
            await backend.aclose()

    return asyncio.run(run())


def by_phone(backend: FhirBackend, e164: str) -> list[SourceRecord]:
    return closing(backend, lambda b: b.find_by_phone(e164))


def by_mrn(backend: FhirBackend, mrn: str) -> list[SourceRecord]:
    return closing(backend, lambda b: b.find_by_identifier(mrn))


def _lookup(systems: Systems, transport: Counting, phone: str) -> LookupResult:
    ehr = _ehr(systems, transport, mrn_system=MRN_SYSTEM, phone_format="dashes")
    crm = SuppliedFields(
        SqlBackend(
            "CRM",
            f"sqlite:///{systems.crm.as_posix()}",
            CRM_QUERY,
            {
                "given_name": "first_name",
                "family_name": "last_name",
                "birth_date": "dob",
                "phone": "phone",
                "mrn": "mrn",
            },
            priority=20,
        ),
        None,
        MRN_SYSTEM,
    )
    rule = MatcherRule()
    rule.prepare()  # before the first call, as the desk does at startup
    lookup = ProfileLookup([ehr, crm], cache_seconds=0, merge=partial(merge_records, same=rule))

    async def run() -> LookupResult:
        try:
            return await lookup.lookup("call-1", phone)
        finally:
            await lookup.aclose()

    return asyncio.run(run())


def test_one_search_finds_a_caller_stored_in_the_configured_spelling(systems: Systems) -> None:
    transport = Counting()
    records = by_phone(_ehr(systems, transport, phone_format="dashes"), "+16175550131")
    assert [r.get("family_name") for r in records] == ["Vantongeren"]
    assert transport.patient_searches == 1
    # Without the setting: E.164 first, then the other spellings at once.
    fallback = Counting()
    assert len(by_phone(_ehr(systems, fallback), "+16175550131")) == 1
    assert fallback.patient_searches > 2
    # A number no one has: the configured spelling, then the fallback spellings.
    unknown = Counting()
    assert by_phone(_ehr(systems, unknown, phone_format="dashes"), "+16175550199") == []
    assert unknown.patient_searches > 1


def test_the_mrn_is_read_from_its_identifier_system(systems: Systems) -> None:
    transport = Counting()
    [record] = by_phone(_ehr(systems, transport, mrn_system=MRN_SYSTEM), "+16175550132")
    assert record.get("mrn") == "A-70002" and record.fields["mrn_system"] == MRN_SYSTEM
    # Without the system the adapter looks for the 'MR' type coding, which this EHR does not use.
    [plain] = by_phone(_ehr(systems, Counting()), "+16175550132")
    assert "mrn" not in plain.fields
    [found] = by_mrn(_ehr(systems, Counting(), mrn_system=MRN_SYSTEM), "A-70002")
    assert found.record_id == record.record_id


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: f"{c[0]}/{c[1]}")
def test_a_shortened_or_initial_given_name_does_not_split_the_caller(systems: Systems, caller: tuple[str, ...]) -> None:
    ehr_given, crm_given, _family, _birth, digits, _mrn = caller
    result = _lookup(systems, Counting(), f"+1{digits}")
    [patient] = result.patients
    assert {r.source for r in patient.records} == {"EHR", "CRM"}
    assert patient.fields["given_name"].chosen.value == ehr_given
    assert patient.possible_matches == ()
    if crm_given != ehr_given:
        assert [c.value for c in patient.fields["given_name"].conflicts] == [crm_given]  # the conflict is shown
