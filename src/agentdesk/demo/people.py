"""The demo's synthetic people (no real patient is ever in the demo)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SyntheticPerson:
    """One made-up person of the demo population, as the generator knows them (every system's truth)."""

    key: str
    given_name: str
    family_name: str
    birth_date: str
    sex: str
    phone_e164: str
    email: str
    address_line: str
    city: str
    state: str
    postal_code: str
    mrn: str
    language_code: str
    language: str
    interpreter_needed: bool
    in_ehr: bool
    in_crm: bool
