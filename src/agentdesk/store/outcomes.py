"""The structured outcomes a disposition carries (referrals, bookings, callbacks), read from the wrap-up form's
text with a message naming the field for anything wrong.

The form is plain text per field (what the agent typed, what a draft keeps): `WrapUpForm`. `read_outcomes` turns
it into validated records or raises DispositionInvalid("booking.start", "...").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agentdesk.base.phone import normalise_phone
from agentdesk.config.schema import DETAIL_KINDS
from agentdesk.store.dispositions import DispositionInvalid
from agentdesk.telephony.calls import Call, CallState

REFERRAL_TARGETS = ("service_line", "department", "provider")
URGENCIES = ("routine", "urgent", "stat")
REFERRAL_SOURCES = ("campaign", "physician", "self")
REFERRAL_STATUSES = ("requested", "sent", "accepted", "declined")
MAX_TEXT = 200
MAX_REASON = 500
# A booking or callback a little in the past is a typo caught late, not a time machine: allow a clock's slack.
PAST_SLACK = timedelta(minutes=5)
TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class Referral:
    target_kind: str
    target: str
    reason: str
    urgency: str
    source_kind: str
    source: str = ""
    internal: bool = True
    status: str = "requested"
    external_id: str = ""
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True, slots=True)
class Booking:
    provider: str
    location: str
    visit_type: str
    starts_at: datetime
    new_patient: bool
    external_id: str = ""
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True, slots=True)
class Callback:
    due_at: datetime
    time_zone: str
    number: str
    reason: str
    assigned_to: str
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True, slots=True)
class Outcomes:
    referrals: tuple[Referral, ...] = ()
    bookings: tuple[Booking, ...] = ()
    callbacks: tuple[Callback, ...] = ()

    def rows(self) -> dict[str, list[dict[str, Any]]]:
        """Table name -> rows (without the disposition link, version and timestamps the store adds)."""
        return {
            "referrals": [_plain_fields(r) for r in self.referrals],
            "bookings": [_plain_fields(b) for b in self.bookings],
            "callbacks": [_plain_fields(c) for c in self.callbacks],
        }


def _plain_fields(item: Referral | Booking | Callback) -> dict[str, Any]:
    return {f.name: getattr(item, f.name) for f in fields(item)}  # flat: asdict's deep copy costs more


@dataclass
class WrapUpForm:
    """Everything the agent typed, as text: what the panel shows and what a draft keeps."""

    code: str = ""
    notes: str = ""
    details: dict[str, dict[str, str]] = field(default_factory=dict)  # 'booking' -> field -> text

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "notes": self.notes, "details": self.details}

    @classmethod
    def from_json(cls, data: Any) -> WrapUpForm:
        """A draft read back; anything malformed is dropped rather than trusted."""
        if not isinstance(data, dict):
            return cls()
        details: dict[str, dict[str, str]] = {}
        raw = data.get("details")
        if isinstance(raw, dict):
            for kind, fields in raw.items():
                if kind in DETAIL_KINDS and isinstance(fields, dict):
                    details[kind] = {str(k): str(v) for k, v in fields.items() if isinstance(v, str | bool)}
        return cls(str(data.get("code") or ""), str(data.get("notes") or ""), details)

    def filled(self, kind: str) -> bool:
        return any(str(v).strip() for k, v in self.details.get(kind, {}).items() if k != "new_patient")


def read_outcomes(
    form: WrapUpForm, required: set[str], *, agent_id: str, time_zone: str, region: str = "US", now: datetime
) -> Outcomes:
    """Validate every detail form that is required or filled in; raises DispositionInvalid naming the field."""
    for kind in sorted(required):
        if kind not in form.details:
            raise DispositionInvalid(kind, f"this disposition needs a {kind}; fill in the {kind} form")

    def wanted(kind: str) -> bool:  # an open but empty form is validated when required (its first field is named)
        return form.filled(kind) or (kind in required and kind in form.details)

    bookings = (_booking(form.details["booking"], time_zone, now),) if wanted("booking") else ()
    referrals = (_referral(form.details["referral"]),) if wanted("referral") else ()
    callbacks = (_callback(form.details["callback"], time_zone, region, agent_id, now),) if wanted("callback") else ()
    return Outcomes(referrals, bookings, callbacks)


def _text(fields: dict[str, str], kind: str, name: str, limit: int = MAX_TEXT, required: bool = True) -> str:
    value = " ".join(str(fields.get(name, "")).split())
    if required and not value:
        raise DispositionInvalid(f"{kind}.{name}", "required")
    if len(value) > limit:
        raise DispositionInvalid(f"{kind}.{name}", f"longer than {limit} characters ({len(value)})")
    if any(ord(c) < 32 for c in value):
        raise DispositionInvalid(f"{kind}.{name}", "contains control characters")
    return value


def _choice(fields: dict[str, str], kind: str, name: str, allowed: tuple[str, ...], default: str = "") -> str:
    value = str(fields.get(name, "")).strip().lower().replace(" ", "_") or default
    if value not in allowed:
        raise DispositionInvalid(f"{kind}.{name}", f"choose one of {', '.join(allowed)}")
    return value


def _flag(fields: dict[str, str], name: str) -> bool:
    return str(fields.get(name, "")).strip().lower() in ("1", "true", "yes", "y", "on", "new")


def _zone(name: str, kind: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DispositionInvalid(
            f"{kind}.time_zone", f"unknown time zone '{name[:40]}', e.g. America/Chicago"
        ) from None


def _when(fields: dict[str, str], kind: str, name: str, zone: ZoneInfo, now: datetime) -> datetime:
    raw = str(fields.get(name, "")).strip()
    if not raw:
        raise DispositionInvalid(f"{kind}.{name}", "required, e.g. 2026-12-07 14:30")
    for pattern in TIME_FORMATS:
        try:
            local = datetime.strptime(raw, pattern)
        except ValueError:
            continue
        when = local.replace(tzinfo=zone).astimezone(UTC)
        if when < now - PAST_SLACK:
            raise DispositionInvalid(f"{kind}.{name}", "is in the past")
        if when > now + timedelta(days=730):
            raise DispositionInvalid(f"{kind}.{name}", "more than two years ahead")
        return when
    raise DispositionInvalid(f"{kind}.{name}", f"'{raw[:20]}' is not a date and time like 2026-12-07 14:30")


def _booking(fields: dict[str, str], time_zone: str, now: datetime) -> Booking:
    zone = _zone(str(fields.get("time_zone", "")).strip() or time_zone, "booking")
    return Booking(
        provider=_text(fields, "booking", "provider"),
        location=_text(fields, "booking", "location"),
        visit_type=_text(fields, "booking", "visit_type", 100),
        starts_at=_when(fields, "booking", "start", zone, now),
        new_patient=_flag(fields, "new_patient"),
    )


def _referral(fields: dict[str, str]) -> Referral:
    return Referral(
        target_kind=_choice(fields, "referral", "target_kind", REFERRAL_TARGETS, "service_line"),
        target=_text(fields, "referral", "target"),
        reason=_text(fields, "referral", "reason", MAX_REASON),
        urgency=_choice(fields, "referral", "urgency", URGENCIES, "routine"),
        source_kind=_choice(fields, "referral", "source_kind", REFERRAL_SOURCES, "campaign"),
        source=_text(fields, "referral", "source", required=False),
        internal=str(fields.get("external", "")).strip().lower() not in ("1", "true", "yes", "on"),
        status=_choice(fields, "referral", "status", REFERRAL_STATUSES, "requested"),
    )


def _callback(fields: dict[str, str], time_zone: str, region: str, agent_id: str, now: datetime) -> Callback:
    zone_name = str(fields.get("time_zone", "")).strip() or time_zone
    zone = _zone(zone_name, "callback")
    raw_number = str(fields.get("number", "")).strip()
    if not raw_number:
        raise DispositionInvalid("callback.number", "required")
    number = normalise_phone(raw_number, region)
    if number is None:
        raise DispositionInvalid("callback.number", "not a phone number")
    assigned = _choice(fields, "callback", "assigned_to", ("me", "queue"), "me")
    return Callback(
        due_at=_when(fields, "callback", "when", zone, now),
        time_zone=zone.key,
        number=number,
        reason=_text(fields, "callback", "reason", MAX_REASON),
        assigned_to=agent_id if assigned == "me" else "queue",
    )


def local_zone_name() -> str:
    """The workstation's IANA time zone (what the agent types times in), else UTC."""
    import os
    from pathlib import Path

    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            target = str(Path("/etc/localtime").resolve())
        except OSError:
            target = ""
        name = target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else ""
    try:
        return ZoneInfo(name).key if name else "UTC"
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"


# -- a call kept with its draft (JSON), so a reopened wrap-up still knows its call ------------------------------
_CALL_TIMES = ("offered_at", "answered_at", "ended_at")


def call_snapshot(call: Call) -> dict[str, Any]:
    data: dict[str, Any] = {
        "call_id": call.call_id,
        "ani": call.ani,
        "ani_raw": call.ani_raw,
        "dnis": call.dnis,
        "queue": call.queue,
        "campaign": call.campaign,
        "end_reason": call.end_reason,
        "hold_seconds": call.hold_seconds,
        "ani_note": call.ani_note,
    }
    for name in _CALL_TIMES:
        value = getattr(call, name)
        data[name] = value.isoformat() if value is not None else None
    return data


def call_from_snapshot(data: dict[str, Any]) -> Call | None:
    """The call as it was, now ended (the desk that knew it is gone); None for a snapshot that cannot be read."""
    try:
        times = {name: datetime.fromisoformat(str(data[name])) if data.get(name) else None for name in _CALL_TIMES}
        offered = times["offered_at"] or datetime.now(UTC)
        return Call(
            call_id=str(data["call_id"]),
            ani=str(data.get("ani", "")),
            ani_raw=str(data.get("ani_raw", "")),
            dnis=str(data.get("dnis", "")),
            queue=str(data.get("queue", "")),
            campaign=str(data.get("campaign", "")),
            state=CallState.ENDED,
            offered_at=offered,
            answered_at=times["answered_at"],
            ended_at=times["ended_at"] or offered,
            hold_seconds=float(data.get("hold_seconds") or 0.0),
            end_reason=str(data.get("end_reason", "")),
            ani_note=str(data.get("ani_note", "")),
        )
    except (KeyError, TypeError, ValueError):
        return None
