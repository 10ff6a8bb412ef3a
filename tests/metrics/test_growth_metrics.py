"""Growth metrics against the hand-computed day plus the same caller's earlier calls and the script runs, on SQLite
and on a real PostgreSQL: speed to conversion, lead-to-patient, per service line and per script version, and the
script funnel per version.

On top of tests/metrics_fixture.py (times on day D, UTC):
  caller p1 is named on the dispositions of c9 (HEART, offered D-1 23:50), c1 (HEART, 09:00, booking wrapped
  09:06), c5 (FLU, 10:00) and c6 (FLU, 10:02:06, booking wrapped 10:07:20), and of two earlier FLU calls: g-prev
  (D-3 08:00) and g-old (D-100 08:00, beyond the 90-day look-back). c1's booking is of an existing patient.
  -> c1: first HEART touch c9 (D-1 23:50) -> 09:06 = 9 h 16 min = 33,360 s; not a new patient.
  -> c6: first FLU touch g-prev (D-3 08:00) -> D 10:07:20 = 3 days + 2 h 7 min 20 s = 266,840 s; new patient p1.
  Script runs: heart v1 guided c1 (finished, booking) and c2 (finished, referral); flu v1 guided c5 (left the
  script at 'verify'); flu v2 guided c6 (finished, booking).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from agentdesk.metrics.definitions import MetricOptions, TimeRange
from agentdesk.metrics.growth import version_funnels
from agentdesk.metrics.report import build_report
from agentdesk.store.local import upgrade_schema
from agentdesk.store.schema import bookings, call_events, dispositions, script_runs
from tests import metrics_fixture as fx
from tests.postgres import run_postgres

DAY = TimeRange(*fx.DAY)
SERVICE_LINES = {"HEART": "cardiology", "FLU": "primary-care"}


def earlier_call(connection: sa.Connection, call_id: str, offered: datetime) -> None:
    events = [
        (call_id, "offered", "ringing", "", offered, "cy", "general", "FLU"),
        (call_id, "answered", "talking", "", offered + timedelta(seconds=10), "cy", "general", "FLU"),
        (call_id, "ended", "ended", "hung up", offered + timedelta(minutes=3), "cy", "general", "FLU"),
    ]
    connection.execute(call_events.insert(), [fx.event_row(e, e[4]) for e in events])
    done = offered + timedelta(minutes=4)
    connection.execute(
        dispositions.insert(),
        {"id": str(uuid.uuid4()), "call_id": call_id, "agent_id": "cy", "campaign_code": "FLU",
         "disposition_code": "info", "outcome": "info", "patient_key": "fhir:p1", "wrapup_done_at": done,
         "created_at": done},
    )  # fmt: skip


def run_row(call_id: str, script: str, version: int, finished: bool, outcome: str, last: str) -> dict[str, object]:
    started = fx.at("09:00:00")
    return {
        "id": str(uuid.uuid4()), "call_id": call_id, "agent_id": "ana", "campaign_code": "", "script_id": script,
        "script_version": version, "started_at": started, "stored_at": started, "last_step": last,
        "finished": finished, "path": f"greet {last}", "outcome": outcome, "disposition_code": outcome,
    }  # fmt: skip


def load_growth(connection: sa.Connection) -> None:
    fx.load(connection)
    connection.execute(
        dispositions.update().where(dispositions.c.call_id.in_(("c9", "c1", "c5", "c6"))).values(patient_key="fhir:p1")
    )
    c1 = sa.select(dispositions.c.id).where(dispositions.c.call_id == "c1").scalar_subquery()
    connection.execute(bookings.update().where(bookings.c.disposition_id == c1).values(new_patient=False))
    earlier_call(connection, "g-prev", fx.D - timedelta(days=3) + timedelta(hours=8))
    earlier_call(connection, "g-old", fx.D - timedelta(days=100) + timedelta(hours=8))
    connection.execute(
        script_runs.insert(),
        [
            run_row("c1", "heart", 1, True, "booking", "book"),
            run_row("c2", "heart", 1, True, "referral", "refer"),
            run_row("c5", "flu", 1, False, "transfer", "verify"),
            run_row("c6", "flu", 2, True, "booking", "book"),
        ],
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            folder: Path = tmp_path_factory.mktemp("growth")
            url = f"sqlite:///{folder / 'store.sqlite3'}"
        else:
            url = stack.enter_context(run_postgres())
        engine = sa.create_engine(url)
        upgrade_schema(engine)
        with engine.begin() as connection:
            load_growth(connection)
        yield engine
        engine.dispose()


def growth_of(rows: list[dict[str, object]], key: str) -> dict[object, tuple[object, object]]:
    return {row[key]: (row["speed_to_conversion_s"], row["lead_to_patient"]) for row in rows}


def test_speed_to_conversion_and_lead_to_patient(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        report = build_report(connection, DAY, MetricOptions(), SERVICE_LINES).as_json()
    assert growth_of(report["campaigns"], "code") == {"": (None, 0), "FLU": (266840.0, 1), "HEART": (33360.0, 0)}  # type: ignore[arg-type]
    assert growth_of(report["agents"], "agent") == {"ana": (33360.0, 0), "ben": (None, 0), "cy": (266840.0, 1)}  # type: ignore[arg-type]
    totals = report["totals"]
    assert (totals["speed_to_conversion_s"], totals["lead_to_patient"]) == ((33360 + 266840) / 2, 1)  # type: ignore[index]


def test_per_service_line_and_per_script_version(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        report = build_report(connection, DAY, MetricOptions(), SERVICE_LINES).as_json()
    lines = {row["service_line"]: row for row in report["service_lines"]}  # type: ignore[attr-defined]
    assert set(lines) == {"", "cardiology", "primary-care"}
    campaigns = {row["code"]: row for row in report["campaigns"]}  # type: ignore[attr-defined]
    for line, code in (("cardiology", "HEART"), ("primary-care", "FLU"), ("", "")):
        assert {k: v for k, v in lines[line].items() if k != "service_line"} == {
            k: v for k, v in campaigns[code].items() if k != "code"
        }
    scripts = {row["script"]: row for row in report["script_versions"]}  # type: ignore[attr-defined]
    assert list(scripts) == ["flu v1", "flu v2", "heart v1"]
    heart = scripts["heart v1"]  # c1 (booking) and c2 (referral)
    assert (heart["offered"], heart["answered"], heart["bookings"], heart["referrals"]) == (2, 2, 1, 1)
    assert (heart["conversion_rate"], heart["speed_to_conversion_s"], heart["lead_to_patient"]) == (1.0, 33360.0, 0)
    assert (scripts["flu v1"]["conversion_rate"], scripts["flu v1"]["speed_to_conversion_s"]) == (0.0, None)
    flu2 = scripts["flu v2"]  # c6: a booking and a referral, new patient p1
    assert (flu2["bookings"], flu2["referrals"], flu2["conversion_rate"], flu2["lead_to_patient"]) == (1, 1, 1.0, 1)


def test_the_script_funnel_per_version(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        funnels = {f.script: f for f in version_funnels(connection, DAY)}
    assert list(funnels) == ["flu v1", "flu v2", "heart v1"]
    heart = funnels["heart v1"]
    assert (heart.runs, heart.finished, heart.outcomes, heart.most_left_at) == (
        2, 2, {"booking": 1, "referral": 1}, ""
    )  # fmt: skip
    flu = funnels["flu v1"]
    assert (flu.runs, flu.finished, flu.finished_rate, flu.most_left_at, flu.left_there) == (1, 0, 0.0, "verify", 1)
