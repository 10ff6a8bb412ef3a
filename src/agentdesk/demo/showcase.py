"""The demo's first caller: the one who shows the product at its best in the first minute. A household (two people
on one landline, so the agent chooses who is calling), the first of them known to the EHR and the CRM, which
disagree about one of their facts (a conflict badge with both values and their sources)."""

from __future__ import annotations

import json
import sqlite3

from agentdesk.demo.people import SyntheticPerson
from agentdesk.demo.population import DemoData

ADULT_BORN_BEFORE = "2000-01-01"  # the person who calls about a heart screening is a grown-up
SHOWCASE_CAMPAIGN = "HEART-TV"  # the first call dials this campaign's number: its script greets the caller by name


def showcase_phone(data: DemoData) -> str | None:
    """The number of that caller in this population (None when it has none). Reads the CRM and the related facts:
    off the GUI thread."""
    households: dict[str, list[SyntheticPerson]] = {}
    for person in data.people:
        households.setdefault(person.phone_e164, []).append(person)
    with sqlite3.connect(f"file:{data.crm_file.as_posix()}?mode=ro", uri=True) as db:
        crm = {row[0]: (row[1], row[2]) for row in db.execute("SELECT contact_id, street, email FROM crm_contacts")}
    related = json.loads(data.related_file.read_text(encoding="utf-8"))

    def sources(person: SyntheticPerson) -> int:
        marketing = person.in_crm and bool(related.get(person.key, {}).get("touches"))
        return person.in_ehr + person.in_crm + marketing

    for phone, members in households.items():
        if len(members) < 2:
            continue
        # The profile shows first the person most sources know (then by name): that one must be the showcase.
        first = min(members, key=lambda p: (-sources(p), f"{p.given_name} {p.family_name}"))
        if not (first.in_ehr and first.in_crm) or first.birth_date > ADULT_BORN_BEFORE:
            continue
        street, email = crm.get(f"C-{first.key[1:]}", (first.address_line, first.email))
        if street != first.address_line or email != first.email:
            return phone
    return None
