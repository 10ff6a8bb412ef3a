"""The demo's clinical and marketing facts: appointments, visits, referrals, coverage, a primary-care provider,
and campaign touches. Dates are stored as offsets and made absolute when served, so 'appointment today' stays
true however old the generated population is."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from agentdesk.demo.people import SyntheticPerson

SERVICES = (
    ("Cardiology follow-up", "Cardiology"),
    ("Annual physical", "Primary care"),
    ("Mammogram", "Imaging"),
    ("Knee MRI", "Imaging"),
    ("Dermatology consult", "Dermatology"),
    ("Flu shot", "Primary care"),
    ("Physical therapy", "Rehabilitation"),
    ("Sleep study", "Pulmonology"),
)
REFERRALS = ("Orthopedic surgery", "Cardiology", "Gastroenterology", "Endocrinology", "Behavioral health")
PAYERS = ("Blue Cross PPO", "Harvard Pilgrim HMO", "Medicare Part B", "MassHealth", "Tufts Health Plan")
PRACTITIONERS = ("Dr. Amara Okafor", "Dr. Luis Ferreira", "Dr. Mei Chen", "Dr. Sarah Goldberg", "Dr. Tom Walsh")
CAMPAIGNS = (
    ("Heart health TV spot", "tv"),
    ("Flu shot reminder", "sms"),
    ("New patient welcome", "email"),
    ("Screening mailer", "mail"),
    ("Diabetes education webinar", "email"),
)


def related_facts(people: list[SyntheticPerson], seed: int) -> dict[str, Any]:
    """Offsets-based facts per person key: what the demo EHR and marketing system serve."""
    rng = random.Random(seed + 7)
    facts: dict[str, Any] = {}
    for index, person in enumerate(people):
        entry: dict[str, Any] = {
            "gp": rng.choice(PRACTITIONERS),
            "appointments": [],
            "encounters": [],
            "referrals": [],
            "coverage": rng.choice(PAYERS),
            "touches": [],
        }
        if person.in_ehr:
            for _ in range(rng.choice((0, 1, 1, 2))):
                title, location = rng.choice(SERVICES)
                # about one caller in six has an appointment today: the flag agents must not miss
                days = 0 if rng.random() < 0.17 else rng.randint(1, 60)
                entry["appointments"].append(
                    {
                        "title": title,
                        "where": location,
                        "days": days,
                        "hour": rng.choice((8, 9, 10, 11, 13, 14, 15, 16)),
                    }
                )
            for _ in range(rng.randint(0, 3)):
                title, location = rng.choice(SERVICES)
                entry["encounters"].append({"title": title, "where": location, "days": -rng.randint(3, 330)})
            if rng.random() < 0.3:
                entry["referrals"].append({"title": rng.choice(REFERRALS), "days": -rng.randint(1, 40)})
        if person.in_crm and index % 3 != 2:
            for _ in range(rng.randint(1, 3)):
                campaign, channel = rng.choice(CAMPAIGNS)
                entry["touches"].append(
                    {
                        "campaign": campaign,
                        "channel": channel,
                        "days": -rng.randint(1, 120),
                        "status": rng.choice(("sent", "opened", "clicked", "responded")),
                    }
                )
        facts[person.key] = entry
    return facts


def _at(days: int, hour: int = 9) -> str:
    base = datetime.now(UTC).replace(hour=hour, minute=30, second=0, microsecond=0)
    return (base + timedelta(days=days)).isoformat().replace("+00:00", "Z")


def fhir_related(patient_id: str, facts: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """FHIR resources for one patient, by resource type, with absolute dates as of now."""
    ref = {"reference": f"Patient/{patient_id}"}
    out: dict[str, list[dict[str, Any]]] = {"Appointment": [], "Encounter": [], "ServiceRequest": [], "Coverage": []}
    for number, item in enumerate(facts["appointments"]):
        start = _at(item["days"], item["hour"])
        out["Appointment"].append(
            {
                "resourceType": "Appointment",
                "id": f"{patient_id}-a{number}",
                "status": "booked",
                "serviceType": [{"text": item["title"]}],
                "start": start,
                "participant": [
                    {"actor": ref, "status": "accepted"},
                    {"actor": {"display": item["where"]}, "status": "accepted"},
                ],
            }
        )
    for number, item in enumerate(facts["encounters"]):
        out["Encounter"].append(
            {
                "resourceType": "Encounter",
                "id": f"{patient_id}-e{number}",
                "status": "finished",
                "class": {"code": "AMB"},
                "type": [{"text": item["title"]}],
                "subject": ref,
                "period": {"start": _at(item["days"]), "end": _at(item["days"], 10)},
                "serviceProvider": {"display": item["where"]},
            }
        )
    for number, item in enumerate(facts["referrals"]):
        out["ServiceRequest"].append(
            {
                "resourceType": "ServiceRequest",
                "id": f"{patient_id}-r{number}",
                "status": "active",
                "intent": "order",
                "code": {"text": f"Referral to {item['title']}"},
                "subject": ref,
                "authoredOn": _at(item["days"]),
                "requester": {"display": facts["gp"]},
            }
        )
    out["Coverage"].append(
        {
            "resourceType": "Coverage",
            "id": f"{patient_id}-c0",
            "status": "active",
            "beneficiary": ref,
            "payor": [{"display": facts["coverage"]}],
            "type": {"text": "medical"},
        }
    )
    return out


def marketing_contact(person: SyntheticPerson, facts: dict[str, Any]) -> dict[str, Any]:
    """How a marketing platform's REST API describes one contact (nested, its own field names)."""
    return {
        "contact_id": f"M-{person.key[1:]}",
        "name": {"first": person.given_name, "last": person.family_name},
        "dob": person.birth_date,
        "email": person.email or None,
        "phone": person.phone_e164,
        "modified": _at(-5),
        "touches": [
            {
                "id": f"M-{person.key[1:]}-t{number}",
                "campaign": touch["campaign"],
                "channel": touch["channel"],
                "date": _at(touch["days"]),
                "status": touch["status"],
            }
            for number, touch in enumerate(facts["touches"])
        ],
    }
