"""What a script may know about the caller and the call, as the plain mappings campaigns/ reads: the merged
profile's fields (minimum necessary: only those the deployment fetched), the age, and a one-line summary of the
next appointment, the last visit, the open referral, the coverage and the last campaign touch."""

from __future__ import annotations

import datetime as dt
from typing import Any

from agentdesk.base.phone import display_phone
from agentdesk.records.model import CareItem, ItemKind, PatientProfile
from agentdesk.telephony.calls import Call


def caller_facts(patient: PatientProfile | None, today: dt.date) -> dict[str, Any] | None:
    """The caller's facts for the script context; None when no single person is shown."""
    if patient is None:
        return None
    facts: dict[str, Any] = {name: field.chosen.value for name, field in patient.fields.items()}
    age = patient.age(today)
    if age is not None:
        facts["age"] = age
    now = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC)
    upcoming = [i for i in patient.items_of(ItemKind.APPOINTMENT) if i.when is None or i.when >= now]
    if upcoming:
        facts["next_appointment"] = _summary(min(upcoming, key=lambda i: i.when or now))
    for name, kind in (
        ("last_visit", ItemKind.ENCOUNTER),
        ("open_referral", ItemKind.REFERRAL),
        ("coverage", ItemKind.COVERAGE),
        ("last_campaign_touch", ItemKind.CAMPAIGN_TOUCH),
    ):
        items = patient.items_of(kind)  # newest first
        if items:
            facts[name] = _summary(items[0]) if kind is not ItemKind.COVERAGE else items[0].title
    return facts


def _summary(item: CareItem) -> str:
    when = f" on {item.when:%b %d, %Y}" if item.when else ""
    return f"{item.title}{when}"


def call_facts(call: Call, direction: str = "inbound") -> dict[str, Any]:
    return {
        "ani": display_phone(call.ani) if call.ani else "",
        "dnis": display_phone(call.dnis) if call.dnis else "",
        "queue": call.queue,
        "direction": direction,
    }
