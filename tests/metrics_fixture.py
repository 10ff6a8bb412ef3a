"""A hand-computed day of stored facts (call events as desks log them, dispositions) and the figures it must give.

Day D = 2026-03-02 (UTC). Campaigns HEART (queue cardio), FLU (queue general), none (queue general); agents ana,
ben and cy each take calls of several campaigns. The calls:
  c1  HEART ana: wait 10, hold 60 (09:02-09:03), end 09:05, booking wrapped 09:06 -> handle 350.
      Its offered and answered events are stored twice.
  c2  HEART ring-all ana+ben, ben answers after 30 (ana's desk: 'answered elsewhere'); holds 30 + 60 (ended while
      held), end 09:13, referral wrapped 09:14 -> handle 210. Events stored out of order.
  c3  HEART ana: abandoned after 3 s (short).           c4  HEART ben: abandoned after 45 s (stored twice, late).
  c5  FLU ana: wait 5, transferred at 10:02:05, wrapped 10:02:35 -> handle 150.
  c6  FLU cy: the transfer's new call id: wait 14, end 10:06:20, booking + referral wrapped 10:07:20 -> handle 300.
  c7  none ben: wait exactly 20 (inside the 20 s service level), ended, wrap-up never finished.
  c8  FLU cy at midnight: offered 23:58, wait 40, hold 23:59:30-00:00:30, end 00:03 (stored two hours late),
      referral wrapped 00:04 -> handle 320. Belongs to day D.
  c9  HEART ana offered the day before (23:50), ended 00:05 on D: not a call of D.
  c10 HEART cy: wait 8, still talking (no end).       c11 none cy: rang out ('ring timeout'): unknown outcome.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from agentdesk.store.schema import bookings, call_events, dispositions, referrals

D = datetime(2026, 3, 2, tzinfo=UTC)
DAY = (D, D + timedelta(days=1))


def at(clock: str, day: int = 0) -> datetime:
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    return D + timedelta(days=day, hours=hours, minutes=minutes, seconds=seconds)


# (call, kind, state, reason, occurred, agent, queue, campaign)
EVENTS: list[tuple[str, str, str, str, datetime, str, str, str]] = [
    ("c1", "offered", "ringing", "", at("09:00:00"), "ana", "cardio", "HEART"),
    ("c1", "offered", "ringing", "", at("09:00:00"), "ana", "cardio", "HEART"),
    ("c1", "answered", "talking", "", at("09:00:10"), "ana", "cardio", "HEART"),
    ("c1", "answered", "talking", "", at("09:00:10"), "ana", "cardio", "HEART"),
    ("c1", "held", "held", "", at("09:02:00"), "ana", "cardio", "HEART"),
    ("c1", "resumed", "talking", "", at("09:03:00"), "ana", "cardio", "HEART"),
    ("c1", "ended", "ended", "hung up", at("09:05:00"), "ana", "cardio", "HEART"),
    ("c2", "offered", "ringing", "", at("09:10:00"), "ana", "cardio", "HEART"),
    ("c2", "answered", "ended", "answered elsewhere", at("09:10:30"), "ana", "cardio", "HEART"),
    ("c2", "ended", "ended", "hung up", at("09:13:00"), "ben", "cardio", "HEART"),
    ("c2", "resumed", "talking", "", at("09:11:30"), "ben", "cardio", "HEART"),
    ("c2", "held", "held", "", at("09:11:00"), "ben", "cardio", "HEART"),
    ("c2", "held", "held", "", at("09:12:00"), "ben", "cardio", "HEART"),
    ("c2", "answered", "talking", "", at("09:10:30"), "ben", "cardio", "HEART"),
    ("c2", "offered", "ringing", "", at("09:10:00"), "ben", "cardio", "HEART"),
    ("c3", "offered", "ringing", "", at("09:20:00"), "ana", "cardio", "HEART"),
    ("c3", "ended", "ended", "abandoned", at("09:20:03"), "ana", "cardio", "HEART"),
    ("c4", "offered", "ringing", "", at("09:30:00"), "ben", "cardio", "HEART"),
    ("c4", "ended", "ended", "abandoned", at("09:30:45"), "ben", "cardio", "HEART"),
    ("c5", "offered", "ringing", "", at("10:00:00"), "ana", "general", "FLU"),
    ("c5", "answered", "talking", "", at("10:00:05"), "ana", "general", "FLU"),
    ("c5", "transferred", "ended", "transferred", at("10:02:05"), "ana", "general", "FLU"),
    ("c6", "offered", "ringing", "", at("10:02:06"), "cy", "general", "FLU"),
    ("c6", "answered", "talking", "", at("10:02:20"), "cy", "general", "FLU"),
    ("c6", "ended", "ended", "hung up", at("10:06:20"), "cy", "general", "FLU"),
    ("c7", "offered", "ringing", "", at("11:00:00"), "ben", "general", ""),
    ("c7", "answered", "talking", "", at("11:00:20"), "ben", "general", ""),
    ("c7", "ended", "ended", "hung up", at("11:04:00"), "ben", "general", ""),
    ("c8", "offered", "ringing", "", at("23:58:00"), "cy", "general", "FLU"),
    ("c8", "answered", "talking", "", at("23:58:40"), "cy", "general", "FLU"),
    ("c8", "held", "held", "", at("23:59:30"), "cy", "general", "FLU"),
    ("c8", "resumed", "talking", "", at("00:00:30", day=1), "cy", "general", "FLU"),
    ("c9", "offered", "ringing", "", at("23:50:00", day=-1), "ana", "cardio", "HEART"),
    ("c9", "answered", "talking", "", at("23:50:10", day=-1), "ana", "cardio", "HEART"),
    ("c9", "ended", "ended", "hung up", at("00:05:00"), "ana", "cardio", "HEART"),
    ("c10", "offered", "ringing", "", at("12:00:00"), "cy", "cardio", "HEART"),
    ("c10", "answered", "talking", "", at("12:00:08"), "cy", "cardio", "HEART"),
    ("c11", "offered", "ringing", "", at("13:00:00"), "cy", "general", ""),
    ("c11", "ended", "ended", "ring timeout", at("13:01:30"), "cy", "general", ""),
]
# Stored hours after they happened (a desk that was offline): the phone system's time is what counts.
LATE_EVENTS = [
    ("c8", "ended", "ended", "hung up", at("00:03:00", day=1), "cy", "general", "FLU"),
    ("c4", "ended", "ended", "abandoned", at("09:30:45"), "ben", "cardio", "HEART"),
]
# (call, agent, campaign, outcome, wrap-up done). c1's wrap-up was saved twice: its version 1 had a referral, its
# version 2 (the one that counts) a booking only. c6's disposition carries a booking and a referral.
DISPOSITIONS = [
    ("c1", "ana", "HEART", "booking", at("09:06:00")),
    ("c2", "ben", "HEART", "referral", at("09:14:00")),
    ("c5", "ana", "FLU", "transfer", at("10:02:35")),
    ("c6", "cy", "FLU", "booking", at("10:07:20")),
    ("c8", "cy", "FLU", "referral", at("00:04:00", day=1)),
    ("c9", "ana", "HEART", "info", at("00:06:00")),
]

# The figures, worked out by hand from the list above (rates over offered minus short abandons).
EXPECTED_TOTAL = {
    "offered": 10, "answered": 7, "abandoned": 1, "short_abandoned": 1, "abandon_rate": 0.1111,
    "asa_s": 18.1, "avg_hold_s": 35.0, "aht_s": 266.0, "service_level": 0.5556,
    "referrals": 3, "bookings": 2, "conversion_rate": 0.6667,
}  # fmt: skip
EXPECTED_CAMPAIGNS = {
    "": {
        "offered": 2, "answered": 1, "abandoned": 0, "short_abandoned": 0, "abandon_rate": 0.0,
        "asa_s": 20.0, "avg_hold_s": 0.0, "aht_s": None, "service_level": 0.5,
        "referrals": 0, "bookings": 0, "conversion_rate": 0.0,
    },
    "FLU": {
        "offered": 3, "answered": 3, "abandoned": 0, "short_abandoned": 0, "abandon_rate": 0.0,
        "asa_s": 19.7, "avg_hold_s": 20.0, "aht_s": 256.7, "service_level": 0.6667,
        "referrals": 2, "bookings": 1, "conversion_rate": 0.6667,
    },
    "HEART": {
        "offered": 5, "answered": 3, "abandoned": 1, "short_abandoned": 1, "abandon_rate": 0.25,
        "asa_s": 16.0, "avg_hold_s": 75.0, "aht_s": 280.0, "service_level": 0.5,
        "referrals": 1, "bookings": 1, "conversion_rate": 1.0,
    },
}  # fmt: skip
EXPECTED_AGENTS = {
    "ana": {
        "offered": 4, "answered": 2, "abandoned": 0, "short_abandoned": 1, "abandon_rate": 0.0,
        "asa_s": 7.5, "avg_hold_s": 30.0, "aht_s": 250.0, "service_level": 0.6667,
        "referrals": 0, "bookings": 1, "conversion_rate": 0.5,
    },
    "ben": {
        "offered": 3, "answered": 2, "abandoned": 1, "short_abandoned": 0, "abandon_rate": 0.3333,
        "asa_s": 25.0, "avg_hold_s": 45.0, "aht_s": 210.0, "service_level": 0.3333,
        "referrals": 1, "bookings": 0, "conversion_rate": 0.5,
    },
    "cy": {
        "offered": 4, "answered": 3, "abandoned": 0, "short_abandoned": 0, "abandon_rate": 0.0,
        "asa_s": 20.7, "avg_hold_s": 30.0, "aht_s": 310.0, "service_level": 0.5,
        "referrals": 2, "bookings": 1, "conversion_rate": 1.0,
    },
}  # fmt: skip
EXPECTED_QUEUES = {
    "cardio": EXPECTED_CAMPAIGNS["HEART"],
    "general": {
        "offered": 5, "answered": 4, "abandoned": 0, "short_abandoned": 0, "abandon_rate": 0.0,
        "asa_s": 19.8, "avg_hold_s": 15.0, "aht_s": 256.7, "service_level": 0.6,
        "referrals": 2, "bookings": 1, "conversion_rate": 0.5,
    },
}  # fmt: skip


DETAILS = [("c1", 1, "referral"), ("c1", 2, "booking"), ("c6", 1, "booking"), ("c6", 1, "referral")]
VERSIONS = {"c1": 2}


def event_row(event: tuple[str, str, str, str, datetime, str, str, str], recorded: datetime) -> dict[str, Any]:
    call_id, kind, state, reason, occurred, agent, queue, campaign = event
    return {
        "call_id": call_id,
        "kind": kind,
        "state": state,
        "source": "fixture",
        "occurred_at": occurred,
        "recorded_at": recorded,
        "reason": reason,
        "campaign_code": campaign,
        "agent_id": agent,
        "queue": queue,
        "uid": str(uuid.uuid4()),
    }


def load(connection: sa.Connection) -> None:
    """Insert the day (late events last, as they arrived)."""
    connection.execute(call_events.insert(), [event_row(e, e[4] + timedelta(seconds=1)) for e in EVENTS])
    connection.execute(call_events.insert(), [event_row(e, at("02:00:00", day=1)) for e in LATE_EVENTS])
    ids = {call_id: str(uuid.uuid4()) for call_id, *_ in DISPOSITIONS}
    connection.execute(
        dispositions.insert(),
        [
            {
                "id": ids[call_id],
                "call_id": call_id,
                "agent_id": agent,
                "campaign_code": campaign,
                "disposition_code": outcome,
                "outcome": outcome,
                "wrapup_done_at": done,
                "created_at": done,
                "version": VERSIONS.get(call_id, 1),
            }
            for call_id, agent, campaign, outcome, done in DISPOSITIONS
        ],
    )
    for call_id, version, kind in DETAILS:
        common = {"id": str(uuid.uuid4()), "disposition_id": ids[call_id], "version": version, "created_at": D}
        if kind == "booking":
            connection.execute(
                bookings.insert(),
                {
                    **common,
                    "provider": "Dr A",
                    "location": "Main",
                    "visit_type": "new",
                    "starts_at": D,
                    "new_patient": True,
                },
            )
        else:
            connection.execute(
                referrals.insert(),
                {
                    **common,
                    "target_kind": "service_line",
                    "target": "cardiology",
                    "reason": "screening",
                    "urgency": "routine",
                    "source_kind": "campaign",
                    "status": "sent",
                },
            )
