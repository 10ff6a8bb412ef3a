"""`agentdesk lookup`: the real fetch + merge without Qt, as IT runs it, against real local systems."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentdesk.demo.fhir_server import DemoFhirServer
from agentdesk.demo.population import DemoData, write_demo_data
from agentdesk.demo.setup import CRM_QUERY

# A backend nothing listens for (the discard port): it fails fast with a connection error.
DOWN = """
[[backends]]
name = "Down"
kind = "fhir"
base_url = "http://127.0.0.1:9/fhir"
timeout_seconds = 0.5
"""


@pytest.fixture(scope="module")
def systems(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoData, Path]]:
    folder = tmp_path_factory.mktemp("systems")
    data = write_demo_data(folder / "demo", count=120, seed=5)
    server = DemoFhirServer(data.fhir_file, data.related_file, data.people)
    server.start()
    config = folder / "agentdesk.toml"
    config.write_text(
        f"""
[[backends]]
name = "EHR"
kind = "fhir"
base_url = "{server.base_url}"
priority = 10

[[backends]]
name = "CRM"
kind = "sql"
url = "sqlite:///{data.crm_file.as_posix()}"
priority = 20
phone_query = "{CRM_QUERY}"
[backends.columns]
given_name = "first_name"
family_name = "last_name"
birth_date = "dob"
sex = "gender"
address_line = "street"
postal_code = "zip"
"""
        + DOWN,
        encoding="utf-8",
    )
    yield data, config
    server.stop()


def lookup(config: Path, basedir: Path, phone: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "agentdesk",
            "--config",
            str(config),
            "--basedir",
            str(basedir),
            "lookup",
            "--phone",
            phone,
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_json_report_merges_sources_and_marks_the_failing_one(systems: tuple[DemoData, Path], tmp_path: Path) -> None:
    data, config = systems
    counts = Counter(p.phone_e164 for p in data.people)
    person = next(p for p in data.people if p.in_ehr and p.in_crm and counts[p.phone_e164] == 1)
    digits = person.phone_e164[2:]
    result = lookup(config, tmp_path, f"({digits[:3]}) {digits[3:6]}-{digits[6:]}", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["phone"] == person.phone_e164 and report["elapsed_ms"] > 0
    sources = {s["name"]: s for s in report["sources"]}
    assert sources["EHR"]["status"] == "ok" and sources["CRM"]["status"] == "ok"
    assert sources["Down"]["status"] == "error" and sources["Down"]["reason"]
    assert report["failed_sources"] == [{"source": "Down", "reason": sources["Down"]["reason"]}]
    (patient,) = report["patients"]
    assert patient["fields"]["family_name"]["value"] == person.family_name
    assert patient["fields"]["birth_date"] == {
        "value": person.birth_date,
        "source": "EHR",
        "updated": patient["fields"]["birth_date"]["updated"],
        "conflicts": [],
    }
    assert {r["source"] for r in patient["records"]} == {"EHR", "CRM"}
    assert patient["match"]["sources"] == ["CRM", "EHR"]
    (pair,) = patient["match"]["pairs"]
    assert pair["decision"] == "match" and pair["probability"] >= 0.97
    fields = {f["field"]: f for f in pair["fields"]}
    assert fields["birth_date"]["outcome"] == "agree" and fields["birth_date"]["weight"] > 0
    # The lookup is audited like a profile shown in the window.
    with sqlite3.connect(tmp_path / "data" / "agentdesk.sqlite3") as db:
        audited = {row[0] for row in db.execute("SELECT patient_key FROM audit_events WHERE call_id = 'cli-lookup'")}
    assert audited == {f"{r['source']}:{r['id']}" for r in patient["records"]}


def test_text_report_and_bad_phone(systems: tuple[DemoData, Path], tmp_path: Path) -> None:
    data, config = systems
    person = next(p for p in data.people if p.in_ehr)
    text = lookup(config, tmp_path, person.phone_e164)
    assert text.returncode == 0 and person.family_name in text.stdout and "source EHR: ok" in text.stdout
    bad = lookup(config, tmp_path, "not-a-number")
    assert bad.returncode == 2 and "phone:" in bad.stderr


def test_global_options_after_the_command(systems: tuple[DemoData, Path], tmp_path: Path) -> None:
    """`agentdesk lookup --config F --basedir B --phone N --json`, as the README writes it, works like the
    options given before the command."""
    data, config = systems
    person = next(p for p in data.people if p.in_ehr)
    command = [sys.executable, "-m", "agentdesk", "lookup", "--config", str(config), "--basedir", str(tmp_path)]
    result = subprocess.run(
        [*command, "--phone", person.phone_e164, "--json"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["phone"] == person.phone_e164
    assert (tmp_path / "data" / "agentdesk.sqlite3").is_file()  # --basedir after the command was honoured


def test_the_json_explanation_uses_the_configured_thresholds() -> None:
    """The pairs explain the merge with the thresholds the merge used, not the defaults."""
    from agentdesk.commands.lookup import match_pairs
    from agentdesk.records.merge import MatcherRule, merge_records
    from agentdesk.records.model import SourceRecord

    fields = {"given_name": "Ana", "family_name": "Silva", "birth_date": "1980-02-03", "phone": "+16175550123"}
    records = [SourceRecord("EHR", "p1", dict(fields)), SourceRecord("CRM", "c1", dict(fields))]
    (patient,) = merge_records(records, same=MatcherRule(0.5, 0.4))
    (default,) = match_pairs(patient, MatcherRule())
    assert default["decision"] == "match" and 0.5 < default["probability"] < 0.999999
    (strict,) = match_pairs(patient, MatcherRule(0.999999, 0.4))
    assert strict["decision"] == "review" and strict["probability"] == default["probability"]


def test_the_json_names_possible_matches_with_the_reason_they_were_held() -> None:
    """Twins at one address and phone: two people, each naming the other as a possible match, with the pairs
    explained and the rule that held them."""
    from agentdesk.commands.lookup import as_document
    from agentdesk.records.merge import MatcherRule, merge_records
    from agentdesk.records.model import LookupResult, SourceRecord

    home = {
        "family_name": "Silva",
        "birth_date": "2011-06-14",
        "phone": "+16175550123",
        "address_line": "12 Elm Street",
        "postal_code": "02134",
    }
    records = [
        SourceRecord("EHR", "p1", {**home, "given_name": "Olivia"}),
        SourceRecord("CRM", "c2", {**home, "given_name": "Olive"}),
    ]
    rule = MatcherRule()
    patients = tuple(merge_records(records, same=rule))
    document = as_document(LookupResult("call", "+16175550123", (), patients, 1.0, True), rule)
    first, second = document["patients"]
    assert [m["patient"] for m in first["possible_matches"]] == [second["key"]]
    assert [m["patient"] for m in second["possible_matches"]] == [first["key"]]
    (pair,) = first["possible_matches"][0]["pairs"]
    assert pair["decision"] == "review" and pair["held"] and "twins rule" in pair["held"][0]
    given = next(f for f in pair["fields"] if f["field"] == "given_name")
    assert "twins rule" in given["note"]
    assert "Olivia" not in str(pair) and "Olive" not in str(pair)  # outcomes only, no values


def run_agentdesk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agentdesk", *args], capture_output=True, text=True, timeout=120)


def test_every_backend_failing_exits_non_zero_with_each_failure_in_the_json(tmp_path: Path) -> None:
    """One backend cannot even be built (its credential is not in the keychain), the other does not answer:
    the lookup did not do its job, and the report says which source failed and why."""
    config = tmp_path / "agentdesk.toml"
    config.write_text(
        """
[[backends]]
name = "Locked"
kind = "fhir"
base_url = "http://127.0.0.1:9/fhir"
auth = "bearer"
credential = "agentdesk-test-absent-secret"
"""
        + DOWN,
        encoding="utf-8",
    )
    base = ["--config", str(config), "--basedir", str(tmp_path), "lookup", "--phone", "+16175550123"]
    result = run_agentdesk(*base, "--json")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "agentdesk lookup: every record backend failed (Locked, Down); nothing was looked up"
    )
    failed = {f["source"]: f["reason"] for f in json.loads(result.stdout)["failed_sources"]}
    assert failed.keys() == {"Locked", "Down"}
    assert "agentdesk-test-absent-secret" in failed["Locked"]
    # Refused, or (on a busy machine) slower than its deadline: either way a reason, never an empty one.
    assert any(reason in failed["Down"] for reason in ("connection failed", "no answer in time"))
    text = run_agentdesk(*base)
    assert text.returncode == 1 and "source Locked: unavailable (credential" in text.stdout


def test_no_backend_configured_exits_non_zero_naming_the_fix(tmp_path: Path) -> None:
    config = tmp_path / "agentdesk.toml"
    config.write_text("", encoding="utf-8")
    result = run_agentdesk("--config", str(config), "--basedir", str(tmp_path), "lookup", "--phone", "6175550123")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "agentdesk lookup: no record backend is configured ([[backends]] in the config file; or try --demo)"
    )
    assert (
        json.loads(
            run_agentdesk(
                "--config", str(config), "--basedir", str(tmp_path), "lookup", "--phone", "6175550123", "--json"
            ).stdout
        )["sources"]
        == []
    )


@pytest.mark.parametrize("demo_first", [True, False], ids=["--demo lookup", "lookup --demo"])
def test_demo_looks_up_the_synthetic_population(tmp_path: Path, demo_first: bool) -> None:
    """`--demo` before or after the command: the demo's EHR, CRM and marketing systems answer, as in the window's
    demo (a small population from --config, to keep the test short)."""
    config = tmp_path / "agentdesk.toml"
    config.write_text("[demo]\npopulation = 40\nseed = 7\n", encoding="utf-8")
    data = write_demo_data(tmp_path / "data" / "demo", count=40, seed=7)  # what the command finds and reuses
    counts = Counter(p.phone_e164 for p in data.people)
    person = next(p for p in data.people if p.in_ehr and p.in_crm and counts[p.phone_e164] == 1)
    command = ["lookup", "--phone", person.phone_e164, "--json"]
    options = ["--demo", "--config", str(config), "--basedir", str(tmp_path)]
    result = run_agentdesk(*options, *command) if demo_first else run_agentdesk(*command, *options)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {s["name"]: s["status"] for s in report["sources"]}.items() >= {"EHR": "ok", "CRM": "ok"}.items()
    assert report["failed_sources"] == []
    (patient,) = report["patients"]
    assert patient["fields"]["family_name"]["value"] == person.family_name
