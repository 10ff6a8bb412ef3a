"""A synthetic patient population (never real data), written as an EHR (FHIR JSON) and a CRM (SQLite).

The two systems disagree the way real ones do: phone numbers spelled differently, an address one of them has
not caught up with, a newer email in the CRM, leads the CRM knows and the EHR does not, households that share
one landline. Phone numbers use the 555-0100..0199 block reserved for fiction.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from agentdesk.demo import names
from agentdesk.demo.people import SyntheticPerson

AREA_CODES = ("617", "508", "781", "978", "413", "339", "857", "774", "351", "401", "603", "207")
LANGUAGES = (("en", "English", False),) * 17 + (
    ("es", "Spanish", True),
    ("pt", "Portuguese", True),
    ("vi", "Vietnamese", True),
)


@dataclass(frozen=True)
class DemoData:
    folder: Path
    people: list[SyntheticPerson]

    @property
    def fhir_file(self) -> Path:
        return self.folder / "ehr-patients.json"

    @property
    def crm_file(self) -> Path:
        return self.folder / "crm.sqlite3"

    @property
    def related_file(self) -> Path:
        """Appointments, visits, referrals, coverage, primary care and campaign touches (see demo.clinical)."""
        return self.folder / "related.json"

    def phones(self) -> list[str]:
        return sorted({p.phone_e164 for p in self.people})


def _phone_pool(rng: random.Random) -> list[str]:
    pool = [f"+1{area}555{line:04d}" for area in AREA_CODES for line in range(100, 200)]
    rng.shuffle(pool)
    return pool


def generate_people(count: int, seed: int) -> list[SyntheticPerson]:
    rng = random.Random(seed)  # the only source of randomness: the same people for a seed on every machine
    phones = _phone_pool(rng)
    people: list[SyntheticPerson] = []
    today = date(2026, 1, 1)
    while len(people) < count and phones:
        household = 2 if rng.random() < 0.12 else 1
        phone = phones.pop()
        family = rng.choice(names.FAMILY)
        street = f"{rng.randint(1, 999)} {rng.choice(names.STREETS)} {rng.choice(names.STREET_KINDS)}"
        state = rng.choice(("MA", "RI", "NH", "ME"))
        towns, zip_prefixes = names.TOWNS[state]
        city, postal = rng.choice(towns), f"{rng.choice(zip_prefixes)}{rng.randint(0, 99):02d}"
        for member in range(household):
            sex = rng.choice(("female", "male"))
            given = rng.choice(names.FEMALE_GIVEN if sex == "female" else names.MALE_GIVEN)
            age = rng.randint(1, 17) if member else rng.randint(19, 92)
            born = today - timedelta(days=age * 365 + rng.randint(0, 364))
            code, language, interpreter = rng.choice(LANGUAGES)
            roll = rng.random()
            people.append(
                SyntheticPerson(
                    key=f"P{len(people) + 1:05d}",
                    given_name=given,
                    family_name=family,
                    birth_date=born.isoformat(),
                    sex=sex,
                    phone_e164=phone,
                    email=f"{given}.{family}{rng.randint(1, 99)}@example.org".lower() if age >= 18 else "",
                    address_line=street,
                    city=city,
                    state=state,
                    postal_code=postal,
                    mrn=f"MRN{rng.randint(1_000_000, 9_999_999)}",
                    language_code=code,
                    language=language,
                    interpreter_needed=interpreter and rng.random() < 0.6,
                    in_ehr=roll < 0.9,
                    in_crm=roll > 0.2,
                )
            )
    return people[:count]


def _fhir_phone(person: SyntheticPerson, rng: random.Random) -> str:
    digits = person.phone_e164[2:]
    # EHRs store what the registration clerk typed: the adapter has to try each spelling.
    return rng.choice((person.phone_e164, f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"))


def fhir_patient(person: SyntheticPerson, rng: random.Random) -> dict[str, object]:
    patient: dict[str, object] = {
        "resourceType": "Patient",
        "id": person.key.lower(),
        "meta": {"lastUpdated": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00Z"},
        "identifier": [
            {
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                "system": "urn:demo:mrn",
                "value": person.mrn,
            }
        ],
        "name": [{"use": "official", "family": person.family_name, "given": [person.given_name]}],
        "gender": person.sex,
        "birthDate": person.birth_date,
        "telecom": [{"system": "phone", "value": _fhir_phone(person, rng), "use": "home"}],
        "address": [
            {
                "use": "home",
                "line": [person.address_line],
                "city": person.city,
                "state": person.state,
                "postalCode": person.postal_code,
            }
        ],
        "communication": [
            {
                "language": {
                    "coding": [{"system": "urn:ietf:bcp:47", "code": person.language_code, "display": person.language}],
                    "text": person.language,
                },
                "preferred": True,
            }
        ],
    }
    if person.email:
        patient["telecom"].append({"system": "email", "value": person.email})  # type: ignore[attr-defined]
    if person.interpreter_needed:
        patient["extension"] = [
            {"url": "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired", "valueBoolean": True}
        ]
    return patient


def write_demo_data(folder: Path, count: int, seed: int) -> DemoData:
    """Generate the population and write both systems; reuses what an earlier start wrote for the same seed."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / "population.json"
    stamp = {"count": count, "seed": seed, "version": 3}
    if marker.exists():
        try:
            saved = json.loads(marker.read_text(encoding="utf-8"))
            if saved.get("stamp") == stamp:
                return DemoData(folder, [SyntheticPerson(**p) for p in saved["people"]])
        except (ValueError, TypeError, KeyError):
            pass  # regenerate a damaged demo population
    people = generate_people(count, seed)
    rng = random.Random(seed + 1)
    data = DemoData(folder, people)
    bundle = [fhir_patient(p, rng) for p in people if p.in_ehr]
    data.fhir_file.write_text(json.dumps(bundle), encoding="utf-8")
    _write_crm(data.crm_file, people, rng)
    from agentdesk.demo.clinical import related_facts

    data.related_file.write_text(json.dumps(related_facts(people, seed)), encoding="utf-8")
    marker.write_text(json.dumps({"stamp": stamp, "people": [asdict(p) for p in people]}), encoding="utf-8")
    return data


def _write_crm(path: Path, people: list[SyntheticPerson], rng: random.Random) -> None:
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE crm_contacts (contact_id TEXT PRIMARY KEY, first_name TEXT, last_name TEXT, dob TEXT,"
            " gender TEXT, phone TEXT, email TEXT, street TEXT, city TEXT, state TEXT, zip TEXT,"
            " preferred_contact TEXT, updated_at TEXT)"
        )
        db.execute("CREATE INDEX crm_contacts_phone ON crm_contacts (phone)")
        for person in people:
            if not person.in_crm:
                continue
            street, city, email = person.address_line, person.city, person.email
            roll = rng.random()
            if roll < 0.15:  # the CRM heard about a move the EHR has not
                street = f"{rng.randint(2, 990)} {rng.choice(('Maple', 'Elm', 'Harbor', 'Summit'))} St"
            elif roll < 0.25 and email:  # a newer personal email from a marketing form
                email = email.replace("@example.org", "@example.net")
            updated = datetime(2026, rng.randint(1, 10), rng.randint(1, 28), 9, 30, tzinfo=UTC)
            db.execute(
                "INSERT INTO crm_contacts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    f"C-{person.key[1:]}",
                    person.given_name,
                    person.family_name,
                    person.birth_date,
                    person.sex[0].upper(),
                    person.phone_e164[2:],
                    email,
                    street,
                    city,
                    person.state,
                    person.postal_code,
                    rng.choice(("phone", "text", "email")),
                    updated.isoformat(),
                ),
            )
