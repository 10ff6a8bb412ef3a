"""The real FHIR R4 test engine (Medplum fhir-router + MemoryRepository behind node:http): what it matches, how it
pages, how it fails. These tests document the engine's behaviour that AgentDesk's FHIR backend relies on."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.fhir_engine.harness import (
    DEFAULT_PATIENTS,
    MRN_SYSTEM,
    FhirEngine,
    FhirEngineError,
    SyntheticPatient,
    created_ids,
    post_transaction,
    require_node,
    run_fhir_engine,
    synthetic_patient_bundle,
)

FHIR_JSON = "application/fhir+json"


@dataclass
class Loaded:
    engine: FhirEngine
    client: httpx.Client
    patient_ids: dict[str, str]  # MRN -> Patient id
    practitioner_id: str


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FhirEngine]:
    with run_fhir_engine(tmp_path_factory.mktemp("fhir-engine")) as running:
        yield running


@pytest.fixture(scope="module")
def loaded(engine: FhirEngine) -> Iterator[Loaded]:
    response = post_transaction(engine.base_url, synthetic_patient_bundle())
    ids = created_ids(response)
    patient_ids = [rid for rtype, rid in ids if rtype == "Patient"]
    practitioner_id = next(rid for rtype, rid in ids if rtype == "Practitioner")
    with httpx.Client(base_url=engine.base_url, headers={"Accept": FHIR_JSON}, timeout=10) as client:
        yield Loaded(
            engine, client, {p.mrn: pid for p, pid in zip(DEFAULT_PATIENTS, patient_ids, strict=True)}, practitioner_id
        )


def search(loaded: Loaded, resource_type: str, params: Any) -> dict[str, Any]:
    response = loaded.client.get(resource_type, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    bundle: dict[str, Any] = response.json()
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "searchset"
    return bundle


def resources(bundle: dict[str, Any], mode: str | None = "match") -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry", []) if mode is None or e.get("search", {}).get("mode") == mode]


def ids_of(bundle: dict[str, Any], mode: str | None = "match") -> set[str]:
    return {r["id"] for r in resources(bundle, mode)}


def expect_outcome(response: httpx.Response, status: int, text: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert any(text in (i.get("details", {}).get("text", "") + i.get("diagnostics", "")) for i in outcome["issue"]), (
        outcome
    )


AVERY = DEFAULT_PATIENTS[0]  # phone "+16175550123"
BRAM = DEFAULT_PATIENTS[1]  # phone "(617) 555-0145"


# ------------------------------------------------------------------------------------------------- startup & load


def test_engine_starts_quickly_and_serves_metadata(engine: FhirEngine) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/fhir/R4", engine.base_url)
    assert engine.startup_seconds < 15
    response = httpx.get(f"{engine.base_url}/metadata", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR_JSON)
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    assert {"phone", "telecom", "identifier", "name", "birthdate"} <= {p["name"] for p in patient["searchParam"]}


def test_transaction_rewrites_urn_uuid_references(loaded: Loaded) -> None:
    avery_id = loaded.patient_ids[AVERY.mrn]
    patient = loaded.client.get(f"Patient/{avery_id}")
    assert patient.status_code == 200
    assert patient.headers["content-type"].startswith(FHIR_JSON)
    assert patient.headers["etag"].startswith('W/"')
    body = patient.json()
    assert body["generalPractitioner"] == [{"reference": f"Practitioner/{loaded.practitioner_id}"}]
    assert body["identifier"][0]["type"]["coding"][0]["code"] == "MR"
    appointment = resources(search(loaded, "Appointment", {"patient": f"Patient/{avery_id}"}))[0]
    assert appointment["participant"][0]["actor"]["reference"] == f"Patient/{avery_id}"


# ------------------------------------------------------------------------------------------------- phone


@pytest.mark.parametrize("param", ["phone", "telecom"])
def test_phone_search_matches_the_exact_stored_string(loaded: Loaded, param: str) -> None:
    bundle = search(loaded, "Patient", {param: "+16175550123"})  # httpx encodes '+' as %2B
    assert bundle["total"] == 1
    assert ids_of(bundle) == {loaded.patient_ids[AVERY.mrn]}
    # The same number in other formats finds nothing: the engine does not normalise phone numbers.
    for other_format in ["(617) 555-0123", "617-555-0123", "6175550123", "16175550123", "+1 617 555 0123"]:
        assert search(loaded, "Patient", {param: other_format})["total"] == 0, other_format


def test_phone_stored_in_a_local_format_is_found_only_in_that_format(loaded: Loaded) -> None:
    assert ids_of(search(loaded, "Patient", {"phone": "(617) 555-0145"})) == {loaded.patient_ids[BRAM.mrn]}
    assert ids_of(search(loaded, "Patient", {"telecom": "phone|(617) 555-0145"})) == {loaded.patient_ids[BRAM.mrn]}
    assert search(loaded, "Patient", {"phone": "+16175550145"})["total"] == 0


def test_an_unencoded_plus_in_the_query_is_a_space(loaded: Loaded) -> None:
    """Gotcha for hand-built URLs: '?phone=+1617...' arrives as ' 1617...' and matches nothing."""
    response = loaded.client.get(f"{loaded.engine.base_url}/Patient?phone=+16175550123")
    assert response.status_code == 200
    assert response.json()["total"] == 0
    assert loaded.client.get(f"{loaded.engine.base_url}/Patient?phone=%2B16175550123").json()["total"] == 1


# ------------------------------------------------------------------------------------------------- demographics


def test_identifier_search(loaded: Loaded) -> None:
    avery_id = loaded.patient_ids[AVERY.mrn]
    assert ids_of(search(loaded, "Patient", {"identifier": f"{MRN_SYSTEM}|{AVERY.mrn}"})) == {avery_id}
    assert ids_of(search(loaded, "Patient", {"identifier": AVERY.mrn})) == {avery_id}  # any system
    assert search(loaded, "Patient", {"identifier": f"urn:oid:1.2.3|{AVERY.mrn}"})["total"] == 0


def test_name_and_birthdate_search(loaded: Loaded) -> None:
    avery_id = loaded.patient_ids[AVERY.mrn]
    assert ids_of(search(loaded, "Patient", {"name": AVERY.family, "birthdate": AVERY.birth_date})) == {avery_id}
    assert ids_of(search(loaded, "Patient", {"family": AVERY.family, "given": AVERY.given})) == {avery_id}
    assert search(loaded, "Patient", {"name": AVERY.family, "birthdate": "1975-03-15"})["total"] == 0
    # Two Testwoods; string search is a case-insensitive substring match in MemoryRepository.
    assert search(loaded, "Patient", {"name": AVERY.family})["total"] == 2
    assert search(loaded, "Patient", {"family": "tESTw"})["total"] == 2


# ------------------------------------------------------------------------------------------------- related resources


def test_related_resources_by_patient(loaded: Loaded) -> None:
    ref = f"Patient/{loaded.patient_ids[AVERY.mrn]}"
    today = dt.date.today().isoformat()
    [appointment] = resources(search(loaded, "Appointment", {"patient": ref, "date": f"ge{today}"}))
    assert appointment["status"] == "booked"
    assert appointment["start"] > today
    assert search(loaded, "Appointment", {"patient": ref, "date": f"lt{today}"})["total"] == 0
    [encounter] = resources(search(loaded, "Encounter", {"patient": ref}))
    assert encounter["status"] == "finished"
    [order] = resources(search(loaded, "ServiceRequest", {"patient": ref, "status": "active"}))
    assert order["intent"] == "order"
    assert search(loaded, "ServiceRequest", {"patient": ref, "status": "completed"})["total"] == 0
    assert len(resources(search(loaded, "Coverage", {"patient": ref}))) == 1
    assert len(resources(search(loaded, "Coverage", {"beneficiary": ref}))) == 1
    # A bare id works for reference params with a single target type.
    assert search(loaded, "Encounter", {"patient": loaded.patient_ids[AVERY.mrn]})["total"] == 1


def test_revinclude_and_include(loaded: Loaded) -> None:
    avery_id = loaded.patient_ids[AVERY.mrn]
    bundle = search(
        loaded,
        "Patient",
        [
            ("_id", avery_id),
            ("_revinclude", "Appointment:patient"),
            ("_revinclude", "Encounter:patient"),
            ("_revinclude", "Coverage:beneficiary"),
            ("_include", "Patient:general-practitioner"),
        ],
    )
    assert bundle["total"] == 1  # total counts matches only
    assert ids_of(bundle) == {avery_id}
    included = sorted(r["resourceType"] for r in resources(bundle, "include"))
    assert included == ["Appointment", "Coverage", "Encounter", "Practitioner"]


def test_chained_search_needs_an_explicit_target_type(loaded: Loaded) -> None:
    """general-practitioner may point at several types: an untyped chain is a 400, a typed one works."""
    untyped = loaded.client.get("Patient", params={"general-practitioner.name": "Examplar"})
    expect_outcome(untyped, 400, "Unable to identify next resource type")
    typed = search(loaded, "Patient", {"general-practitioner:Practitioner.name": "Examplar"})
    assert typed["total"] == len(DEFAULT_PATIENTS)


def test_has_is_not_supported_by_the_memory_repository(loaded: Loaded) -> None:
    """Documents a limitation: _has silently matches nothing (no error)."""
    assert search(loaded, "Patient", {"_has:Encounter:patient:status": "finished"})["total"] == 0


# ------------------------------------------------------------------------------------------------- paging


def test_count_paging_with_next_links(loaded: Loaded) -> None:
    first = search(loaded, "Patient", {"_count": 2, "_sort": "birthdate"})
    assert first["total"] == len(DEFAULT_PATIENTS)
    assert len(first["entry"]) == 2
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert set(links) == {"self", "first", "next"}
    assert links["next"].startswith(f"{loaded.engine.base_url}/Patient?")
    assert "_offset=2" in links["next"]
    second = loaded.client.get(links["next"]).json()
    assert len(second["entry"]) == 2
    assert {link["relation"] for link in second["link"]} == {"self", "first", "previous"}
    births = [r["birthDate"] for r in resources(first) + resources(second)]
    assert births == sorted(p.birth_date for p in DEFAULT_PATIENTS)


def test_default_count_and_summary_count(loaded: Loaded) -> None:
    bundle = search(loaded, "Patient", {})
    assert "_count=20" in bundle["link"][0]["url"]  # the engine applies Medplum's default page size
    counted = search(loaded, "Patient", {"_summary": "count"})
    assert counted["total"] == len(DEFAULT_PATIENTS)
    assert "entry" not in counted


# ------------------------------------------------------------------------------------------------- errors


def test_errors_are_operation_outcomes(loaded: Loaded) -> None:
    client = loaded.client
    expect_outcome(client.get("Patient/does-not-exist"), 404, "Not found")
    expect_outcome(client.get("Patient", params={"phonenumber": "x"}), 400, "Unknown search parameter: phonenumber")
    expect_outcome(client.get("Patient", params={"birthdate": "03/14/1975"}), 400, "Invalid format for date")
    expect_outcome(client.get("Patinet"), 404, "Unknown resource type: Patinet")
    expect_outcome(client.get(f"http://127.0.0.1:{loaded.engine.port}/fhir/Patient"), 404, "the FHIR base is /fhir/R4")
    expect_outcome(client.post("", content=b"{not json", headers={"Content-Type": FHIR_JSON}), 400, "not valid JSON")
    expect_outcome(client.post("", json={"resourceType": "Patient"}), 400, "Bundle of type transaction or batch")
    expect_outcome(client.post("Patient", json={"resourceType": "Patient", "birthDate": "1975-13-40"}), 400, "date")


def test_a_failing_transaction_writes_nothing(loaded: Loaded) -> None:
    before = search(loaded, "Patient", {"_summary": "count"})["total"]
    stray = SyntheticPatient("Rollback", "Rhea", "1990-05-05", "female", "+16175550199", "MRN-19999")
    bundle = synthetic_patient_bundle([stray])
    bundle["entry"][-1]["resource"]["period"] = {"start": "not-a-date"}  # the Coverage, the last entry
    response = loaded.client.post("", json=bundle)
    expect_outcome(response, 400, "Invalid dateTime format")
    assert search(loaded, "Patient", {"_summary": "count"})["total"] == before
    assert search(loaded, "Patient", {"phone": stray.phone})["total"] == 0


# ------------------------------------------------------------------------------------------------- harness


def test_engine_process_is_reaped_on_exit(tmp_path: Any) -> None:
    with run_fhir_engine(tmp_path) as running:
        assert running.is_running()
        assert httpx.get(f"{running.base_url}/metadata", timeout=10).status_code == 200
        proc = running._proc
    assert proc.returncode is not None  # waited for: no zombie
    assert proc.stdout is not None and proc.stdout.closed
    assert proc.stdin is not None and proc.stdin.closed
    assert (tmp_path / "fhir-engine.log").exists()


def test_start_failure_reports_the_engine_stderr(engine: FhirEngine, tmp_path: Any) -> None:
    with pytest.raises(FhirEngineError, match="EADDRINUSE"), run_fhir_engine(tmp_path, port=engine.port):
        pass  # pragma: no cover - never reached


def test_require_node_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    assert require_node()
    monkeypatch.setattr("tests.fhir_engine.harness.shutil.which", lambda _name: None)
    monkeypatch.delenv("AGENTDESK_REQUIRE_SERVERS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="nodejs npm"):
        require_node()
    monkeypatch.setenv("AGENTDESK_REQUIRE_SERVERS", "1")
    with pytest.raises(pytest.fail.Exception, match="nodejs npm"):
        require_node()


def test_synthetic_bundle_is_fictional_and_varied() -> None:
    bundle = synthetic_patient_bundle()
    patients = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    phones = [p["telecom"][0]["value"] for p in patients]
    assert len(set(phones)) == len(phones)
    assert all(re.search(r"555\D?01\d\d$", phone) for phone in phones)
    assert len({re.sub(r"\d", "9", phone) for phone in phones}) == len(phones)  # all different formats
    assert all(e["fullUrl"].startswith("urn:uuid:") for e in bundle["entry"])
    types = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert types == {
        "Practitioner",
        "Organization",
        "Patient",
        "Appointment",
        "Encounter",
        "ServiceRequest",
        "Coverage",
    }
