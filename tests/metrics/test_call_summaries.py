"""The per-call summaries every metric reads (call_summaries): whoever writes a fact, the figures follow it, on
SQLite and on a real PostgreSQL; a store migrated with calls already in it is summarised."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from agentdesk.metrics import rollups
from agentdesk.metrics.definitions import MetricOptions, TimeRange
from agentdesk.metrics.operations import GroupBy, day_figures, figures, interval_series, totals
from agentdesk.store.local import MIGRATIONS, upgrade_schema
from agentdesk.store.schema import bookings, call_events, call_summaries, call_summary_changes, dispositions
from tests import metrics_fixture as fx
from tests.postgres import run_postgres

DAY = TimeRange(*fx.DAY)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite3'}"
        return
    with run_postgres() as address:
        yield address


def read_totals(engine: sa.Engine) -> dict[str, object]:
    """The day's totals from the summaries; the rollups the monitor reads must say exactly the same, per campaign,
    per queue, per agent and per hour too."""
    with engine.begin() as connection:
        scanned = totals(connection, DAY)
        rolled = rollups.read_figures(connection, DAY, MetricOptions())
        assert rolled is not None
        campaigns, queues, total = rolled
        assert total.as_json() == scanned.as_json()
        assert [c.as_json() for c in campaigns] == [c.as_json() for c in figures(connection, DAY, GroupBy.CAMPAIGN)]
        assert [q.as_json() for q in queues] == [q.as_json() for q in figures(connection, DAY, GroupBy.QUEUE)]
        by_agent = rollups.read_agent_counts(connection, DAY)
        assert by_agent is not None
        answered = day_figures(connection, DAY, MetricOptions()).answered_by
        assert {a: n for a, n in by_agent.items() if any(n)} == {
            a: (f.handled, f.bookings, f.referrals) for a, f in answered.items() if f.handled or f.bookings
        }
        assert rollups.read_series(connection, DAY, 3600, 0) == interval_series(connection, DAY, 3600)
        return scanned.as_json()


def test_figures_follow_late_events_and_wrapups_saved_again(url: str) -> None:
    engine = sa.create_engine(url)
    upgrade_schema(engine)
    with engine.begin() as connection:
        fx.load(connection)
    assert read_totals(engine) == fx.EXPECTED_TOTAL
    with engine.begin() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(call_summary_changes)).scalar() == 0

    # c10 (still talking) ends; its wrap-up is saved with a booking, then saved again as information only.
    with engine.begin() as connection:
        ended = ("c10", "ended", "ended", "hung up", fx.at("12:04:08"), "cy", "cardio", "HEART")
        connection.execute(call_events.insert(), fx.event_row(ended, fx.at("12:04:09")))
    after_end = read_totals(engine)
    assert after_end["answered"] == 7 and after_end["conversion_rate"] == round(4 / 7, 4)  # 7 handled now

    disposition = str(uuid.uuid4())
    done = fx.at("12:05:08")
    with engine.begin() as connection:
        connection.execute(
            dispositions.insert(),
            {"id": disposition, "call_id": "c10", "agent_id": "cy", "campaign_code": "HEART",
             "disposition_code": "booking", "outcome": "booking", "wrapup_done_at": done, "created_at": done},
        )  # fmt: skip
        connection.execute(
            bookings.insert(),
            {"id": str(uuid.uuid4()), "disposition_id": disposition, "version": 1, "created_at": done,
             "provider": "Dr A", "location": "Main", "visit_type": "new", "starts_at": done, "new_patient": True},
        )  # fmt: skip
    booked = read_totals(engine)
    assert booked["bookings"] == 3 and booked["conversion_rate"] == round(5 / 7, 4)
    # AHT now includes c10: answered 12:00:08, wrap-up done 12:05:08 -> 300 s; (266 * 5 + 300) / 6.
    assert booked["aht_s"] == round((266 * 5 + 300) / 6, 1)

    with engine.begin() as connection:
        connection.execute(
            dispositions.update().where(dispositions.c.id == disposition).values(outcome="info", version=2)
        )
    assert read_totals(engine)["bookings"] == 2  # the booking belongs to version 1 only

    # Events removed (a store pruned): the call is gone from the figures, and from the summaries.
    with engine.begin() as connection:
        connection.execute(call_events.delete().where(call_events.c.call_id == "c10"))
    gone = read_totals(engine)
    assert gone["offered"] == 9
    with engine.connect() as connection:
        assert (
            connection.execute(sa.select(call_summaries.c.call_id).where(call_summaries.c.call_id == "c10")).first()
            is None
        )
    engine.dispose()


def test_a_store_with_calls_is_summarised_when_migrated(url: str) -> None:
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0011")  # before call_summaries existed
        fx.load(connection)
    upgrade_schema(engine)
    assert read_totals(engine) == fx.EXPECTED_TOTAL
    engine.dispose()
