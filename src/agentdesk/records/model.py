"""What a backend returns and what the merge produces: every value keeps its source and date."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from agentdesk.base.ids import record_ref

FIELD_LABELS: dict[str, str] = {
    "primary_care": "Primary care",
    "balance_due": "Balance due",
    "given_name": "Given name",
    "family_name": "Family name",
    "birth_date": "Birth date",
    "sex": "Sex",
    "mrn": "MRN",
    "phone": "Phone",
    "email": "Email",
    "address_line": "Address",
    "city": "City",
    "state": "State",
    "postal_code": "Postal code",
    "language": "Language",
    "interpreter_needed": "Interpreter",
    "preferred_contact": "Preferred contact",
}


class ItemKind(StrEnum):
    APPOINTMENT = "appointment"  # upcoming (or today)
    ENCOUNTER = "encounter"  # a recent visit
    REFERRAL = "referral"  # an open ServiceRequest / referral
    COVERAGE = "coverage"  # insurance
    CAMPAIGN_TOUCH = "campaign_touch"  # marketing: a mailing, an ad response, an e-mail click
    INTERACTION = "interaction"  # a prior contact-center call, message or callback


@dataclass(frozen=True, slots=True)
class CareItem:
    """One dated fact about a person from one source: shown in the profile's lists and timeline."""

    kind: ItemKind
    title: str  # "Cardiology follow-up", "Referral to orthopedics", "Blue Cross PPO"
    source: str
    when: datetime | None = None
    status: str = ""  # booked, active, finished ...
    detail: str = ""  # provider, location, payer member id ...
    record_id: str = ""


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One person as one backend sees them. Values are already validated, normalised strings."""

    source: str
    record_id: str
    fields: dict[str, str]
    updated: datetime | None = None
    priority: int = 100
    items: tuple[CareItem, ...] = ()

    def get(self, name: str) -> str:
        return self.fields.get(name, "")

    @property
    def ref(self) -> str:
        """'source:id', how audit and identity decisions name this record."""
        return record_ref(self.source, self.record_id)


@dataclass(frozen=True, slots=True)
class FieldValue:
    value: str
    source: str
    updated: datetime | None


@dataclass(frozen=True, slots=True)
class ProfileField:
    """The surviving value of one field, and the other values other sources hold (shown, never hidden)."""

    chosen: FieldValue
    conflicts: tuple[FieldValue, ...] = ()


@dataclass(frozen=True, slots=True)
class PatientProfile:
    """One person, merged from every source's record of them."""

    fields: dict[str, ProfileField]
    records: tuple[SourceRecord, ...]
    possible_matches: tuple[str, ...] = ()  # keys of other candidates the matcher could not tell apart (review)

    def value(self, name: str) -> str:
        found = self.fields.get(name)
        return found.chosen.value if found else ""

    @property
    def items(self) -> list[CareItem]:
        """Every source's dated items, newest first (undated last)."""
        everything = [item for record in self.records for item in record.items]
        return sorted(everything, key=lambda i: (i.when is None, -(i.when.timestamp() if i.when else 0)))

    def items_of(self, kind: ItemKind) -> list[CareItem]:
        return [item for item in self.items if item.kind is kind]

    @property
    def display_name(self) -> str:
        return " ".join(part for part in (self.value("given_name"), self.value("family_name")) if part) or "(no name)"

    @property
    def key(self) -> str:
        """A stable reference for audit and dispositions: the records it was built from (no names, no numbers)."""
        return ";".join(sorted(r.ref for r in self.records))

    def age(self, today: date) -> int | None:
        try:
            born = date.fromisoformat(self.value("birth_date"))
        except ValueError:
            return None
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class SourceState(StrEnum):
    PENDING = "pending"
    OK = "ok"
    EMPTY = "empty"  # answered, no record for this number
    TIMEOUT = "timeout"
    ERROR = "error"
    STALE = "stale"  # failed now; its last answer for this number is shown


@dataclass(frozen=True, slots=True)
class SourceStatus:
    name: str
    state: SourceState
    elapsed_ms: float = 0.0
    records: int = 0
    reason: str = ""  # for the agent and IT; never patient data


@dataclass(frozen=True, slots=True)
class LookupResult:
    """The state of one caller lookup so far: updated as each source answers."""

    call_id: str
    phone: str
    sources: tuple[SourceStatus, ...]
    patients: tuple[PatientProfile, ...] = ()
    elapsed_ms: float = 0.0
    done: bool = False
    records: tuple[SourceRecord, ...] = field(default=(), repr=False)
