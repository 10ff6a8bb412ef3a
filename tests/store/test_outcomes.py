"""Structured outcomes: referrals, bookings and callbacks validated at the field, saved with their disposition
in one transaction, versioned when a call's wrap-up is saved again, and drafts that outlive the desk."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agentdesk.campaigns.loader import CampaignCatalog
from agentdesk.campaigns.resolver import CampaignResolver
from agentdesk.config.schema import CampaignSettings, DispositionType, Settings
from agentdesk.store.dispositions import Disposition, DispositionInvalid
from agentdesk.store.local import LocalStore
from agentdesk.store.outcomes import WrapUpForm, read_outcomes
from agentdesk.store.sync import Backoff, SyncStatus

NOW = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
BOOKING = {
    "provider": "Dr. Ada Quill",
    "location": "Heart Center, 2nd floor",
    "visit_type": "New patient consult",
    "start": "2026-12-09 10:30",
    "new_patient": "yes",
}
REFERRAL = {
    "target_kind": "service_line",
    "target": "Cardiology",
    "reason": "Chest pain on exertion",
    "urgency": "urgent",
}
CALLBACK = {"when": "2026-12-07 09:00", "time_zone": "America/Chicago", "number": "(617) 555-0142", "reason": "Results"}


def form(**details: dict[str, str]) -> WrapUpForm:
    return WrapUpForm("appointment_booked", "", dict(details))


def read(f: WrapUpForm, required: set[str] | None = None) -> object:
    return read_outcomes(f, required or set(), agent_id="dana", time_zone="America/New_York", now=NOW)


def test_a_booking_a_referral_and_a_callback_are_read_from_the_form() -> None:
    outcomes = read_outcomes(
        form(booking=BOOKING, referral=REFERRAL, callback=CALLBACK),
        {"booking"},
        agent_id="dana",
        time_zone="America/New_York",
        now=NOW,
    )
    (booking,) = outcomes.bookings
    assert booking.starts_at == datetime(2026, 12, 9, 15, 30, tzinfo=UTC)  # 10:30 in New York
    assert booking.new_patient is True
    (referral,) = outcomes.referrals
    assert (referral.target_kind, referral.urgency, referral.status, referral.internal) == (
        "service_line",
        "urgent",
        "requested",
        True,
    )
    (callback,) = outcomes.callbacks
    assert callback.number == "+16175550142"
    assert callback.due_at == datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # 09:00 in Chicago
    assert (callback.time_zone, callback.assigned_to) == ("America/Chicago", "dana")


@pytest.mark.parametrize(
    ("kind", "changes", "field", "message"),
    [
        ("booking", {"provider": ""}, "booking.provider", "required"),
        ("booking", {"start": "tomorrow-ish"}, "booking.start", "not a date and time"),
        ("booking", {"start": "2026-12-01 10:00"}, "booking.start", "in the past"),
        ("booking", {"start": "2031-01-01 10:00"}, "booking.start", "two years"),
        ("booking", {"time_zone": "Mars/Olympus"}, "booking.time_zone", "unknown time zone"),
        ("referral", {"urgency": "whenever"}, "referral.urgency", "routine, urgent, stat"),
        ("referral", {"reason": "x" * 501}, "referral.reason", "longer than 500"),
        ("referral", {"target_kind": "astrologer"}, "referral.target_kind", "service_line"),
        ("callback", {"number": "call me"}, "callback.number", "not a phone number"),
        ("callback", {"when": ""}, "callback.when", "required"),
        ("callback", {"assigned_to": "bob"}, "callback.assigned_to", "me, queue"),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(kind: str, changes: dict[str, str], field: str, message: str) -> None:
    base = {"booking": BOOKING, "referral": REFERRAL, "callback": CALLBACK}[kind]
    with pytest.raises(DispositionInvalid, match=message) as caught:
        read(form(**{kind: {**base, **changes}}))
    assert caught.value.field == field


def test_a_disposition_that_requires_a_booking_cannot_be_saved_without_one() -> None:
    with pytest.raises(DispositionInvalid) as caught:
        read(form(referral=REFERRAL), {"booking"})
    assert caught.value.field == "booking"
    booked = DispositionType(code="appointment_booked", label="Booked", outcome="booking")
    both = DispositionType(code="booked_and_referred", label="B+R", outcome="booking", requires=["booking", "referral"])
    assert booked.required_details == {"booking"}
    assert both.required_details == {"booking", "referral"}
    assert DispositionType(code="info", label="Info", outcome="info").required_details == set()


def test_outbound_campaigns_offer_no_answer_and_voicemail_inbound_ones_do_not() -> None:
    settings = Settings(
        campaigns=[
            CampaignSettings(code="RECALL", name="Recall", direction="outbound", dispositions=["appointment_booked"]),
            CampaignSettings(code="TV", name="TV"),
        ]
    )
    resolver = CampaignResolver.from_catalog(CampaignCatalog(), settings.campaigns.inline, settings.dispositions)
    recall, tv = (resolver.by_code(code) for code in ("RECALL", "TV"))
    assert recall is not None and tv is not None
    outbound = {d.code for d in resolver.dispositions_for(recall.campaign)}
    inbound = {d.code for d in resolver.dispositions_for(tv.campaign)}
    assert outbound == {"appointment_booked", "no_answer", "left_voicemail", "wrong_number"}
    assert "wrong_number" in inbound and not inbound & {"no_answer", "left_voicemail"}


def test_details_are_saved_with_their_disposition_and_a_second_save_replaces_them(tmp_path: Path) -> None:
    async def scenario() -> list[dict[str, object]]:
        store = LocalStore(tmp_path / "s.sqlite3")
        await store.open()
        first = read(form(booking=BOOKING, referral=REFERRAL))
        one = await store.save_disposition(
            Disposition(call_id="c1", agent_id="dana", disposition_code="appointment_booked", outcome="booking"),
            first,  # type: ignore[arg-type]
        )
        # The agent corrects the booking's provider and drops the referral, and saves again.
        second = read(form(booking={**BOOKING, "provider": "Dr. Ben Ode"}))
        two = await store.save_disposition(
            Disposition(call_id="c1", agent_id="dana", disposition_code="appointment_booked", outcome="booking"),
            second,  # type: ignore[arg-type]
        )
        assert (one.id, two.version) == (two.id, 2)
        rows = await store.wrapups_between(NOW - timedelta(days=1), NOW + timedelta(days=1))
        await store.close()
        return rows

    rows = asyncio.run(scenario())
    assert len(rows) == 1  # one call, counted once
    (row,) = rows
    assert row["version"] == 2 and "notes" not in row
    assert [b["provider"] for b in row["bookings"]] == ["Dr. Ben Ode"]  # the latest version's details only
    assert row["referrals"] == []


def test_a_draft_is_kept_until_the_wrapup_is_saved(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, int]:
        store = LocalStore(tmp_path / "s.sqlite3")
        await store.open()
        draft = WrapUpForm("appointment_booked", "half typed", {"booking": {"provider": "Dr. Ada"}})
        await store.save_draft("c1", "dana", {"call_id": "c1"}, draft)
        await store.save_draft("c1", "dana", {"call_id": "c1"}, draft)  # each autosave replaces the last
        kept = await store.open_drafts("dana")
        assert kept == [({"call_id": "c1"}, draft)]
        await store.save_disposition(Disposition(call_id="c1", agent_id="dana", disposition_code="x", outcome="other"))
        after = await store.open_drafts("dana")
        await store.close()
        return len(kept), len(after)

    assert asyncio.run(scenario()) == (1, 0)


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    backoff, rng = Backoff(base=1.0, cap=60.0), random.Random(7)
    delays = [backoff.delay(n, rng) for n in range(1, 12)]
    assert 0.5 <= delays[0] <= 1.0 and 2.0 <= delays[2] <= 4.0
    assert all(30.0 <= d <= 60.0 for d in delays[7:])  # capped
    assert len({round(backoff.delay(5, rng), 6) for _ in range(20)}) > 1  # jittered: desks do not return together


def test_sync_status_reads_like_the_status_bar() -> None:
    assert SyncStatus(0).text == "synced"
    assert SyncStatus(3).text == "3 pending"
    offline = SyncStatus(3, datetime(2026, 12, 6, 14, 5, tzinfo=UTC), "unreachable")
    assert offline.text.startswith("offline since ") and offline.text.endswith(", 3 pending") and not offline.ok
