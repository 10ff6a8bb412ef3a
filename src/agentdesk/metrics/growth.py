"""Growth figures beyond the sums of Figures: speed to conversion, lead-to-patient, and the script funnel per
version, over the calls offered in a range (their summaries; see summaries.py). Definitions (DOMAIN.md):

- booked call: a handled call whose disposition (at its current version) carries at least one booking row;
- speed to conversion of a booked call = when its booking was recorded (the wrap-up done) − the caller's first
  recorded touch of the same campaign: the earliest call of that campaign, within LOOKBACK before it, whose
  disposition names the same caller (patient key); when the caller is unknown, or has no earlier call, the touch is
  this call's offer. Per group: the average over its booked calls; None when it has none;
- lead-to-patient = callers (the patient key, or the call when the caller is unknown) of booked calls whose
  booking made them a new patient (`new_patient`: not a patient before the call, and their first appointment);
- per script version: the calls a run of that script version guided (a call guided twice counts for both);
- the funnel per version: runs started in the range, how many reached an end step, what their calls ended in, and
  the step most runs left the script at.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from agentdesk.base.time import as_utc
from agentdesk.metrics.definitions import TimeRange, ratio
from agentdesk.metrics.facts import bookings, call_summaries, dispositions, script_runs

LOOKBACK = timedelta(days=90)


@dataclass(frozen=True)
class BookedCall:
    call_id: str
    campaign: str
    agent_id: str
    offered_at: datetime
    booked_at: datetime
    caller: str  # the patient key; "" when the agent did not identify the caller
    new_patient: bool
    scripts: tuple[str, ...] = ()  # "script-id v3" of the runs that guided it


@dataclass
class Growth:
    key: str
    booked_calls: int = 0
    speed_total_s: float = 0.0
    new_patients: set[str] = field(default_factory=set)

    @property
    def speed_to_conversion_s(self) -> float | None:
        return ratio(self.speed_total_s, self.booked_calls)

    @property
    def lead_to_patient(self) -> int:
        return len(self.new_patients)

    def as_json(self) -> dict[str, object]:
        speed = self.speed_to_conversion_s
        return {
            "speed_to_conversion_s": None if speed is None else round(speed, 1),
            "lead_to_patient": self.lead_to_patient,
        }


def script_key(script_id: str, version: int) -> str:
    return f"{script_id} v{version}"


def booked_calls(connection: sa.Connection, window: TimeRange) -> list[BookedCall]:
    s, d, b = call_summaries, dispositions, bookings
    rows = connection.execute(
        sa.select(
            s.c.call_id,
            s.c.campaign,
            s.c.agent_id,
            s.c.offered_at,
            sa.func.min(d.c.wrapup_done_at).label("booked_at"),
            sa.func.max(d.c.patient_key).label("caller"),
            sa.func.max(sa.case((b.c.new_patient, 1), else_=0)).label("new_patient"),
        )
        .join(d, d.c.call_id == s.c.call_id)
        .join(b, sa.and_(b.c.disposition_id == d.c.id, b.c.version == d.c.version))
        .where(s.c.offered_at >= window.start, s.c.offered_at < window.end, s.c.handled == 1)
        .group_by(s.c.call_id, s.c.campaign, s.c.agent_id, s.c.offered_at)
    ).all()
    guided: dict[str, list[str]] = defaultdict(list)
    ids = [str(row.call_id) for row in rows]
    for start in range(0, len(ids), 500):  # bounded IN lists (SQLite's parameter limit)
        runs = sa.select(script_runs.c.call_id, script_runs.c.script_id, script_runs.c.script_version).where(
            script_runs.c.call_id.in_(ids[start : start + 500])
        )
        for call_id, script_id, version in connection.execute(runs):
            guided[str(call_id)].append(script_key(str(script_id), int(version)))
    return [
        BookedCall(
            str(row.call_id),
            str(row.campaign or ""),
            str(row.agent_id or ""),
            as_utc(row.offered_at),
            as_utc(row.booked_at),
            str(row.caller or ""),
            bool(row.new_patient),
            tuple(sorted(set(guided[str(row.call_id)]))),
        )
        for row in rows
    ]


def _first_touches(connection: sa.Connection, calls: list[BookedCall]) -> dict[tuple[str, str], list[datetime]]:
    """(caller, campaign) -> the offer times of that caller's calls of that campaign (sorted), as far back as the
    earliest booked call's LOOKBACK."""
    callers = sorted({call.caller for call in calls if call.caller})
    if not callers:
        return {}
    since = min(call.offered_at for call in calls) - LOOKBACK
    until = max(call.offered_at for call in calls) + timedelta(seconds=1)
    s, d = call_summaries, dispositions
    touches: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for start in range(0, len(callers), 500):
        query = (
            sa.select(d.c.patient_key, s.c.campaign, s.c.offered_at)
            .join(d, d.c.call_id == s.c.call_id)
            .where(d.c.patient_key.in_(callers[start : start + 500]), s.c.offered_at >= since, s.c.offered_at < until)
        )
        for caller, campaign, offered in connection.execute(query):
            touches[(str(caller), str(campaign or ""))].append(as_utc(offered))
    for times in touches.values():
        times.sort()
    return touches


def speeds(connection: sa.Connection, calls: list[BookedCall]) -> dict[str, float]:
    """Seconds from the first touch to the booking, per booked call id."""
    touches = _first_touches(connection, calls)
    result: dict[str, float] = {}
    for call in calls:
        first = call.offered_at
        earlier = touches.get((call.caller, call.campaign), []) if call.caller else []
        if earlier:
            index = bisect_left(earlier, call.offered_at - LOOKBACK)
            if index < len(earlier) and earlier[index] < first:
                first = earlier[index]
        result[call.call_id] = max((call.booked_at - first).total_seconds(), 0.0)
    return result


def growth_by(
    calls: list[BookedCall], speed: dict[str, float], keys_of: Callable[[BookedCall], tuple[str, ...]]
) -> dict[str, Growth]:
    """Growth per key (a call with several keys, e.g. two script versions, counts for each)."""
    groups: dict[str, Growth] = {}
    for call in calls:
        for key in keys_of(call):
            growth = groups.setdefault(key, Growth(key))
            growth.booked_calls += 1
            growth.speed_total_s += speed[call.call_id]
            if call.new_patient:
                growth.new_patients.add(call.caller or f"call:{call.call_id}")
    return groups


@dataclass(frozen=True)
class VersionFunnel:
    """The script funnel of one version: runs started in the range and how they went."""

    script: str  # "script-id v3"
    runs: int
    finished: int
    outcomes: dict[str, int]
    most_left_at: str  # the step most unfinished runs stopped at ("" when every run reached an end)
    left_there: int

    @property
    def finished_rate(self) -> float | None:
        return ratio(self.finished, self.runs)


def version_funnels(connection: sa.Connection, window: TimeRange) -> list[VersionFunnel]:
    r = script_runs
    rows = connection.execute(
        sa.select(r.c.script_id, r.c.script_version, r.c.finished, r.c.outcome, r.c.last_step, sa.func.count())
        .where(r.c.started_at >= window.start, r.c.started_at < window.end)
        .group_by(r.c.script_id, r.c.script_version, r.c.finished, r.c.outcome, r.c.last_step)
    ).all()
    runs: Counter[str] = Counter()
    finished: Counter[str] = Counter()
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    left: dict[str, Counter[str]] = defaultdict(Counter)
    for script_id, version, done, outcome, last_step, count in rows:
        key = script_key(str(script_id), int(version))
        runs[key] += count
        outcomes[key][str(outcome or "none")] += count
        if done:
            finished[key] += count
        else:
            left[key][str(last_step)] += count
    funnels = []
    for key in sorted(runs):
        step, there = left[key].most_common(1)[0] if left[key] else ("", 0)
        funnels.append(VersionFunnel(key, runs[key], finished[key], dict(sorted(outcomes[key].items())), step, there))
    return funnels


def by_service_line(rows: list[Any], service_lines: dict[str, str]) -> dict[str, list[Any]]:
    """Campaign rows grouped by their campaign's service line ('' for a campaign without one)."""
    grouped: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[service_lines.get(row.key, "")].append(row)
    return dict(grouped)


@dataclass(frozen=True)
class GrowthRow:
    group: str  # "campaign", "service line" or "script"
    key: str
    handled: int
    bookings: int
    referrals: int
    conversion_rate: float | None
    speed_to_conversion_s: float | None
    lead_to_patient: int


@dataclass(frozen=True)
class GrowthView:
    """The monitor's growth section over its period."""

    rows: list[GrowthRow]
    funnels: list[VersionFunnel]


def growth_rows(group: str, figures: list[Any], growth: dict[str, Growth]) -> list[GrowthRow]:
    rows = []
    for row in figures:
        found = growth.get(row.key, Growth(row.key))
        rows.append(
            GrowthRow(
                group, row.key, row.handled, row.bookings, row.referrals, row.conversion_rate,
                found.speed_to_conversion_s, found.lead_to_patient,
            )
        )  # fmt: skip
    return rows
