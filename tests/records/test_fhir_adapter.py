"""The FHIR adapter against the real FHIR R4 engine (Medplum fhir-router, tests/fhir_engine): patient search by
phone (whatever spelling the server stored), identifier and name + birth date; related appointments, encounters,
referrals, coverage and the GP's name; `related` limiting what is fetched; and a patient kept when a related search
fails or runs out of time. All data is synthetic."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest

from agentdesk.base.phone import normalise_phone
from agentdesk.config.schema import RELATED_KINDS
from agentdesk.records.backends import BackendError
from agentdesk.records.backends.fhir import FhirBackend
from agentdesk.records.lookup import ProfileLookup
from agentdesk.records.model import CareItem, ItemKind, SourceRecord
from tests.fhir_engine.harness import (
    DEFAULT_PATIENTS,
    MRN_SYSTEM,
    FhirEngine,
    created_ids,
    post_transaction,
    run_fhir_engine,
    synthetic_patient_bundle,
)
from tests.support import captured

T = TypeVar("T")
AVERY, BRAM, CLEO, DORIAN = DEFAULT_PATIENTS
EDGE_PHONE = "+16175550177"  # Eamon Edgecase: related resources that must and must not be shown
SHARED_PHONE = "+1 617-555-0166"  # a parent and a child on one line, stored in yet another format
REFS_PHONE = "+16175550155"  # Rhoda Refcheck: GP references that must never be followed
NOW = dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------------------------------- fixtures


@dataclass
class Loaded:
    engine: FhirEngine
    ids: dict[str, str]  # MRN -> Patient id


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    with run_fhir_engine(tmp_path_factory.mktemp("fhir-adapter")) as engine:
        ids: dict[str, str] = {}
        for bundle, mrns in (
            (synthetic_patient_bundle(), [p.mrn for p in DEFAULT_PATIENTS]),
            (edge_and_household_bundle(), ["MRN-20001", "MRN-20002", "MRN-20003", "MRN-20004"]),
        ):
            patient_ids = [
                rid for rtype, rid in created_ids(post_transaction(engine.base_url, bundle)) if rtype == "Patient"
            ]
            ids.update(zip(mrns, patient_ids, strict=True))
        yield Loaded(engine, ids)


@pytest.fixture
def warnings_logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with captured(caplog, ("agentdesk.records",), logging.WARNING):
        yield caplog


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def using(backend: FhirBackend, call: Callable[[FhirBackend], Coroutine[Any, Any, T]]) -> T:
    try:
        return await call(backend)
    finally:
        await backend.aclose()


def by_phone(loaded: Loaded, phone: str, **options: Any) -> list[SourceRecord]:
    e164 = normalise_phone(phone)
    assert e164
    backend = FhirBackend("EHR", loaded.engine.base_url, timeout_seconds=5, **options)
    return run(using(backend, lambda b: b.find_by_phone(e164)))


def of_kind(record: SourceRecord, kind: ItemKind) -> list[CareItem]:
    return [item for item in record.items if item.kind is kind]


class Transport(httpx.AsyncBaseTransport):
    """A real transport to the engine that records each request's resource type and can fail or stall some."""

    def __init__(self, fail: str = "", stall: str = "", misroute: str = "") -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.fail, self.stall, self.misroute = fail, stall, misroute
        self.types: list[str] = []
        self.stalled_and_cancelled = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        resource_type = request.url.path.split("/R4/", 1)[1].split("/")[0]
        self.types.append(resource_type)
        if resource_type == self.fail:
            raise httpx.ConnectError("refused for the test", request=request)
        if resource_type == self.stall:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                self.stalled_and_cancelled += 1
                raise
        if resource_type == self.misroute:  # to a path the engine does not serve: "Encounters"
            path = request.url.path.replace(f"/{resource_type}", f"/{resource_type}s")
            request.url = request.url.copy_with(path=path)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


# --------------------------------------------------------------------------------------------------- search


@pytest.mark.parametrize("patient", DEFAULT_PATIENTS, ids=lambda p: p.phone)
def test_phone_search_finds_each_patient_whatever_spelling_the_engine_stored(loaded: Loaded, patient: Any) -> None:
    [record] = by_phone(loaded, patient.phone)  # stored as '+16175550123', '(617) 555-0145', '617-555-0167' ...
    assert record.record_id == loaded.ids[patient.mrn]
    assert (record.get("given_name"), record.get("family_name")) == (patient.given, patient.family)
    assert record.get("mrn") == patient.mrn
    assert record.get("birth_date") == patient.birth_date
    assert record.get("phone") == normalise_phone(patient.phone)  # shown normalised, whatever was stored
    assert record.items == ()  # no `related` configured: demographics only


def test_phone_search_for_an_unknown_number_is_empty(loaded: Loaded) -> None:
    assert by_phone(loaded, "+16175550198", related=RELATED_KINDS) == []


def test_identifier_search(loaded: Loaded) -> None:
    async def scenario(backend: FhirBackend) -> tuple[list[SourceRecord], list[SourceRecord], str]:
        found = await backend.find_by_identifier(BRAM.mrn)
        unknown = await backend.find_by_identifier("MRN-99999")
        with pytest.raises(BackendError) as empty:
            await backend.find_by_identifier("  ")
        return found, unknown, str(empty.value)

    found, unknown, reason = run(using(FhirBackend("EHR", loaded.engine.base_url, related=["coverage"]), scenario))
    [record] = found
    assert record.record_id == loaded.ids[BRAM.mrn]
    assert record.get("given_name") == BRAM.given
    assert [item.kind for item in record.items] == [ItemKind.COVERAGE]  # related data for identifier hits too
    assert unknown == []
    assert reason == "an identifier search needs a value"


def test_name_and_birth_date_search(loaded: Loaded) -> None:
    async def scenario(backend: FhirBackend) -> dict[str, Any]:
        results: dict[str, Any] = {
            "avery": await backend.find_by_name(AVERY.given, AVERY.family, AVERY.birth_date),
            "any_given": await backend.find_by_name("", DORIAN.family.lower(), DORIAN.birth_date),
            "wrong_date": await backend.find_by_name(AVERY.given, AVERY.family, "1975-03-15"),
        }
        for bad in ("14/03/1975", ""):
            with pytest.raises(BackendError, match="needs a family name and a birth date"):
                await backend.find_by_name(AVERY.given, AVERY.family, bad)
        with pytest.raises(BackendError, match="needs a family name"):
            await backend.find_by_name(AVERY.given, " ", AVERY.birth_date)
        return results

    results = run(using(FhirBackend("EHR", loaded.engine.base_url), scenario))
    assert [r.record_id for r in results["avery"]] == [loaded.ids[AVERY.mrn]]  # two Testwoods; the date decides
    assert [r.record_id for r in results["any_given"]] == [loaded.ids[DORIAN.mrn]]
    assert results["wrong_date"] == []


# --------------------------------------------------------------------------------------------------- related


def test_related_items_of_a_synthetic_patient(loaded: Loaded) -> None:
    [record] = by_phone(loaded, AVERY.phone, related=RELATED_KINDS)
    assert record.get("primary_care") == "Dr. Robin Examplar"  # no display on the reference: read
    [appointment] = of_kind(record, ItemKind.APPOINTMENT)
    assert appointment.when is not None and appointment.when > NOW
    assert (appointment.title, appointment.status, appointment.detail) == (
        "Follow-up visit",
        "booked",
        "Dr. Robin Examplar",
    )
    assert appointment.source == "EHR"
    [encounter] = of_kind(record, ItemKind.ENCOUNTER)
    assert encounter.when is not None and NOW - dt.timedelta(days=365) < encounter.when < NOW
    assert (encounter.title, encounter.status) == ("Ambulatory", "finished")
    [referral] = of_kind(record, ItemKind.REFERRAL)
    assert (referral.title, referral.status) == ("Outpatient cardiology referral", "active")
    assert referral.detail == "from Dr. Robin Examplar"
    [coverage] = of_kind(record, ItemKind.COVERAGE)
    assert (coverage.title, coverage.status) == ("Synthetic Health Plan", "active")  # the payor Organization's name
    assert coverage.detail == "member ID SYN900000"
    # Each item points at the engine's resource, and that resource belongs to this patient.
    response = httpx.get(f"{loaded.engine.base_url}/{appointment.record_id}", timeout=10)
    assert response.status_code == 200
    actors = [p["actor"].get("reference") for p in response.json()["participant"]]
    assert f"Patient/{record.record_id}" in actors


def test_only_upcoming_recent_open_and_active_items_are_shown(loaded: Loaded) -> None:
    [record] = by_phone(loaded, EDGE_PHONE, related=RELATED_KINDS)
    appointments = of_kind(record, ItemKind.APPOINTMENT)
    # Not the cancelled one, not last week's; sorted by date; a proposed one without a service type is titled by
    # its appointment type; a participant with only a display (a location) is the detail.
    assert [(a.title, a.status, a.detail) for a in appointments] == [
        ("Cardiology consult", "booked", "Heart Center, 2nd floor"),
        ("Routine appointment", "proposed", ""),
    ]
    assert all(a.when is not None and a.when > NOW for a in appointments)
    assert [(e.title, e.detail) for e in of_kind(record, ItemKind.ENCOUNTER)] == [("Annual physical", "Main Clinic")]
    assert [(r.title, r.detail) for r in of_kind(record, ItemKind.REFERRAL)] == [
        ("Referral to orthopedics", "to Orthopedics department")
    ]
    assert [(c.title, c.detail) for c in of_kind(record, ItemKind.COVERAGE)] == [("Blue Cross PPO", "member ID SYN-E1")]
    assert "primary_care" not in record.fields  # none on file: nothing invented


def test_a_shared_line_returns_each_person_with_their_own_items(loaded: Loaded) -> None:
    records = {r.get("given_name"): r for r in by_phone(loaded, SHARED_PHONE, related=RELATED_KINDS)}
    assert set(records) == {"Fenna", "Gus"}
    fenna, gus = records["Fenna"], records["Gus"]
    assert [a.title for a in of_kind(fenna, ItemKind.APPOINTMENT)] == ["Mammogram"]
    assert of_kind(gus, ItemKind.APPOINTMENT) == []
    assert [e.title for e in of_kind(gus, ItemKind.ENCOUNTER)] == ["Well-child visit"]
    assert of_kind(fenna, ItemKind.ENCOUNTER) == []
    assert fenna.get("primary_care") == "Dr. Jo Familydoc"  # read from the Practitioner
    assert gus.get("primary_care") == "Dr. Pat Pediatric"  # the reference's display, nothing read


@pytest.mark.parametrize(
    ("related", "fetched", "kinds"),
    [
        ((), {"Patient"}, set()),
        (("coverage",), {"Patient", "Coverage", "Organization"}, {ItemKind.COVERAGE}),
        (("appointments", "practitioner"), {"Patient", "Appointment", "Practitioner"}, {ItemKind.APPOINTMENT}),
    ],
)
def test_related_setting_limits_what_is_fetched(
    loaded: Loaded, related: tuple[str, ...], fetched: set[str], kinds: set[ItemKind]
) -> None:
    """Minimum necessary: a resource type the deployment did not configure is never even requested."""
    transport = Transport()
    [record] = by_phone(loaded, AVERY.phone, related=related, transport=transport)
    assert set(transport.types) == fetched
    assert {item.kind for item in record.items} == kinds
    assert ("primary_care" in record.fields) == ("practitioner" in related)


def test_a_failing_related_search_keeps_the_patient(loaded: Loaded, warnings_logged: pytest.LogCaptureFixture) -> None:
    [record] = by_phone(loaded, AVERY.phone, related=RELATED_KINDS, transport=Transport(fail="Appointment"))
    assert record.record_id == loaded.ids[AVERY.mrn]
    assert record.get("family_name") == AVERY.family
    assert of_kind(record, ItemKind.APPOINTMENT) == []
    assert {item.kind for item in record.items} == {ItemKind.ENCOUNTER, ItemKind.REFERRAL, ItemKind.COVERAGE}
    assert record.get("primary_care") == "Dr. Robin Examplar"
    [warning] = [r.getMessage() for r in warnings_logged.records if r.levelno == logging.WARNING]
    assert warning == "EHR: appointments not fetched for a matched patient: connection failed (ConnectError)"
    for secret in (AVERY.family, AVERY.given, AVERY.mrn, "0123", record.record_id):
        assert secret not in warnings_logged.text


def test_a_related_endpoint_that_does_not_exist_is_not_asked_again(
    loaded: Loaded, warnings_logged: pytest.LogCaptureFixture
) -> None:
    """A server without Encounter (here: requests renamed to a bad path, which the engine answers 404) costs one
    warning, not one failed request per call."""
    transport = Transport(misroute="Encounter")
    backend = FhirBackend("EHR", loaded.engine.base_url, related=RELATED_KINDS, transport=transport)

    async def scenario(backend: FhirBackend) -> list[list[SourceRecord]]:
        return [await backend.find_by_phone(normalise_phone(p.phone) or "") for p in (AVERY, BRAM)]

    first, second = run(using(backend, scenario))
    assert transport.types.count("Encounter") == 1
    for [record] in (first, second):
        assert of_kind(record, ItemKind.ENCOUNTER) == []
        assert of_kind(record, ItemKind.APPOINTMENT) != []
    warnings = [r.getMessage() for r in warnings_logged.records if r.levelno == logging.WARNING]
    assert warnings == [
        "EHR: encounters not fetched (HTTP 404: OperationOutcome (not-supported)); not asked again for 10 min"
    ]


def test_related_fetches_stay_within_the_backend_timeout(
    loaded: Loaded, warnings_logged: pytest.LogCaptureFixture
) -> None:
    """The caller gives find_by_phone `timeout_seconds` in all; a stalled related search is cut off before that,
    so the patient and the other related items still arrive."""
    transport = Transport(stall="Encounter")
    backend = FhirBackend(
        "EHR", loaded.engine.base_url, timeout_seconds=1.0, related=RELATED_KINDS, transport=transport
    )
    e164 = normalise_phone(AVERY.phone) or ""

    async def scenario(backend: FhirBackend) -> tuple[list[SourceRecord], float, int]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        records = await asyncio.wait_for(backend.find_by_phone(e164), backend.timeout_seconds)
        elapsed = loop.time() - started
        return records, elapsed, len(asyncio.all_tasks()) - 1  # nothing left running behind the caller's back

    [record], elapsed, leftover_tasks = run(using(backend, scenario))
    assert 0.8 < elapsed < 1.0
    assert leftover_tasks == 0
    assert transport.stalled_and_cancelled == 1
    assert {item.kind for item in record.items} == {ItemKind.APPOINTMENT, ItemKind.REFERRAL, ItemKind.COVERAGE}
    assert "EHR: 1 related fetch(es) had no answer in time; patients shown without them" in warnings_logged.text


def test_references_elsewhere_are_never_followed(loaded: Loaded) -> None:
    """A reference to another server would take the credential there; a Patient is not a name to look up."""
    transport = Transport()
    [record] = by_phone(loaded, REFS_PHONE, related=RELATED_KINDS, transport=transport)
    assert record.get("family_name") == "Refcheck"
    assert "primary_care" not in record.fields
    assert sorted(set(transport.types)) == ["Appointment", "Coverage", "Encounter", "Patient", "ServiceRequest"]


def test_practitioner_names_are_read_once_for_many_patients(loaded: Loaded) -> None:
    transport = Transport()
    backend = FhirBackend("EHR", loaded.engine.base_url, related=RELATED_KINDS, transport=transport)

    async def scenario(backend: FhirBackend) -> list[list[SourceRecord]]:
        phones = [normalise_phone(p.phone) or "" for p in DEFAULT_PATIENTS]
        return list(await asyncio.gather(*(backend.find_by_phone(phone) for phone in phones)))

    results = run(using(backend, scenario))
    assert [record.get("primary_care") for [record] in results] == ["Dr. Robin Examplar"] * 4
    # Four patients, each with a GP, an appointment, an encounter and a referral naming the same practitioner,
    # searched concurrently: one read. One payer Organization: one read.
    assert transport.types.count("Practitioner") == 1
    assert transport.types.count("Organization") == 1


def test_profile_lookup_shows_the_related_items(loaded: Loaded) -> None:
    """Through the caller that wraps find_by_phone in asyncio.wait_for(timeout_seconds)."""

    async def scenario() -> Any:
        lookup = ProfileLookup([FhirBackend("EHR", loaded.engine.base_url, timeout_seconds=2, related=RELATED_KINDS)])
        try:
            return await lookup.lookup("call-1", normalise_phone(CLEO.phone) or "")
        finally:
            await lookup.aclose()

    result = run(scenario())
    [profile] = result.patients
    assert profile.display_name == f"{CLEO.given} {CLEO.family}"
    assert profile.value("primary_care") == "Dr. Robin Examplar"
    assert [item.title for item in profile.items_of(ItemKind.APPOINTMENT)] == ["Follow-up visit"]
    assert [item.title for item in profile.items_of(ItemKind.COVERAGE)] == ["Synthetic Health Plan"]


# --------------------------------------------------------------------------------------------------- test data


def urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def entry(full_url: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}


def instant(days: float, hour: int = 10) -> str:
    moment = (NOW + dt.timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def patient(given: str, family: str, born: str, phone: str, mrn: str, gp: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [
            {
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                "system": MRN_SYSTEM,
                "value": mrn,
            }
        ],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "telecom": [{"system": "phone", "value": phone}],
        "birthDate": born,
        "generalPractitioner": [gp] if gp else [],
    }


def appointment(ref: str, status: str, days: float, **extra: Any) -> dict[str, Any]:
    participants = [{"actor": {"reference": ref}, "status": "accepted"}, *extra.pop("participants", [])]
    return {
        "resourceType": "Appointment",
        "status": status,
        "start": instant(days),
        "end": instant(days, hour=11),
        "participant": participants,
        **extra,
    }


def encounter(ref: str, days: float, title: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "type": [{"text": title}],
        "subject": {"reference": ref},
        "period": {"start": instant(days), "end": instant(days, hour=11)},
        **extra,
    }


def edge_and_household_bundle() -> dict[str, Any]:
    """Eamon Edgecase (MRN-20001) with resources that must not be shown next to those that must; Fenna and Gus
    Sharedline (MRN-20002/3), a parent and a child on one phone line, each with their own items; Rhoda Refcheck
    (MRN-20004), whose GP references must not be followed."""
    eamon, fenna, gus, familydoc = urn(), urn(), urn(), urn()
    entries = [
        entry(
            familydoc,
            {"resourceType": "Practitioner", "name": [{"family": "Familydoc", "given": ["Jo"], "prefix": ["Dr."]}]},
        ),
        entry(eamon, patient("Eamon", "Edgecase", "1969-04-01", EDGE_PHONE, "MRN-20001", {})),
        entry(fenna, patient("Fenna", "Sharedline", "1980-06-06", SHARED_PHONE, "MRN-20002", {"reference": familydoc})),
        entry(
            gus, patient("Gus", "Sharedline", "2015-02-02", SHARED_PHONE, "MRN-20003", {"display": "Dr. Pat Pediatric"})
        ),
        entry(
            urn(),
            {
                **patient("Rhoda", "Refcheck", "1955-09-09", REFS_PHONE, "MRN-20004", {}),
                "generalPractitioner": [
                    {"reference": "https://elsewhere.example.org/fhir/Practitioner/1"},  # another server
                    {"reference": "Practitioner/.."},  # a path, not an id
                    {"reference": "#gp"},  # contained (there is none)
                    {"reference": "Patient/someone-else"},  # not a type whose name is ever read
                ],
            },
        ),
        # Eamon: shown
        entry(
            urn(),
            appointment(
                eamon,
                "booked",
                3,
                serviceType=[{"text": "Cardiology consult"}],
                participants=[{"actor": {"display": "Heart Center, 2nd floor"}, "status": "accepted"}],
            ),
        ),
        entry(
            urn(),
            appointment(
                eamon,
                "proposed",
                20,
                appointmentType={"coding": [{"code": "ROUTINE", "display": "Routine appointment"}]},
            ),
        ),
        entry(urn(), encounter(eamon, -30, "Annual physical", location=[{"location": {"display": "Main Clinic"}}])),
        entry(
            urn(),
            {
                "resourceType": "ServiceRequest",
                "status": "active",
                "intent": "order",
                "code": {"text": "Referral to orthopedics"},
                "subject": {"reference": eamon},
                "performer": [{"display": "Orthopedics department"}],
                "authoredOn": instant(-2),
            },
        ),
        entry(
            urn(),
            {
                "resourceType": "Coverage",
                "status": "active",
                "subscriberId": "SYN-E1",
                "beneficiary": {"reference": eamon},
                "payor": [{"display": "Blue Cross"}],
                "class": [
                    {
                        "type": {
                            "coding": [
                                {"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "plan"}
                            ]
                        },
                        "value": "PPO-1",
                        "name": "PPO",
                    }
                ],
            },
        ),
        # Eamon: not shown (cancelled, past, too old, completed, cancelled coverage)
        entry(urn(), appointment(eamon, "cancelled", 5, serviceType=[{"text": "Cancelled visit"}])),
        entry(urn(), appointment(eamon, "booked", -3, serviceType=[{"text": "Last week's visit"}])),
        entry(urn(), encounter(eamon, -800, "Visit two years ago")),
        entry(
            urn(),
            {
                "resourceType": "ServiceRequest",
                "status": "completed",
                "intent": "order",
                "code": {"text": "Done referral"},
                "subject": {"reference": eamon},
            },
        ),
        entry(
            urn(),
            {
                "resourceType": "Coverage",
                "status": "cancelled",
                "beneficiary": {"reference": eamon},
                "payor": [{"display": "Old Plan"}],
            },
        ),
        # The household
        entry(urn(), appointment(fenna, "booked", 9, serviceType=[{"text": "Mammogram"}])),
        entry(urn(), encounter(gus, -15, "Well-child visit")),
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
