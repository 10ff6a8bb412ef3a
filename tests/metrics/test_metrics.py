"""Operations and growth metrics against a hand-computed day (tests/metrics_fixture.py), on SQLite and on a real
PostgreSQL: the same SQL must give the same figures on both."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from agentdesk.metrics.definitions import Figures, MetricOptions, TimeRange
from agentdesk.metrics.operations import GroupBy, figures, interval_series, totals
from agentdesk.store.local import upgrade_schema
from tests import metrics_fixture as fx
from tests.postgres import run_postgres


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        folder: Path = tmp_path_factory.mktemp("metrics")
        engine = sa.create_engine(f"sqlite:///{folder / 'store.sqlite3'}")
        upgrade_schema(engine)
        with engine.begin() as connection:
            fx.load(connection)
        yield engine
        engine.dispose()
        return
    with run_postgres() as url:
        engine = sa.create_engine(url)
        upgrade_schema(engine)
        with engine.begin() as connection:
            fx.load(connection)
        yield engine
        engine.dispose()


DAY = TimeRange(*fx.DAY)


def by_key(rows: list[Figures]) -> dict[str, dict[str, object]]:
    return {row.key: row.as_json() for row in rows}


def test_totals_of_the_day(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        assert totals(connection, DAY).as_json() == fx.EXPECTED_TOTAL


def test_per_campaign_with_calls_without_a_campaign_under_empty_code(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        assert by_key(figures(connection, DAY, GroupBy.CAMPAIGN)) == fx.EXPECTED_CAMPAIGNS


def test_per_queue(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        assert by_key(figures(connection, DAY, GroupBy.QUEUE)) == fx.EXPECTED_QUEUES


def test_per_agent_counts_a_ring_all_call_for_each_agent_it_rang_at(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        assert by_key(figures(connection, DAY, GroupBy.AGENT)) == fx.EXPECTED_AGENTS


def test_a_call_belongs_to_the_day_it_was_offered(engine: sa.Engine) -> None:
    before = TimeRange(fx.D - timedelta(days=1), fx.D)
    after = TimeRange(fx.D + timedelta(days=1), fx.D + timedelta(days=2))
    with engine.connect() as connection:
        previous = totals(connection, before)
        following = totals(connection, after)
    # c9 only: offered the day before, its end (on D) still counts for it.
    assert (previous.offered, previous.answered, previous.handled) == (1, 1, 1)
    assert previous.aht_s == pytest.approx(16 * 60 - 10)  # 23:50:10 -> 00:06 wrap-up done
    assert following.offered == 0  # c8's events after midnight do not make a new call


def test_nothing_offered_gives_unknown_rates_not_zero(engine: sa.Engine) -> None:
    empty = TimeRange(fx.D + timedelta(days=30), fx.D + timedelta(days=31))
    with engine.connect() as connection:
        result = totals(connection, empty).as_json()
        assert figures(connection, empty, GroupBy.CAMPAIGN) == []
    assert result["offered"] == 0
    for key in ("abandon_rate", "asa_s", "avg_hold_s", "aht_s", "service_level", "conversion_rate"):
        assert result[key] is None, key


def test_thresholds_are_configurable(engine: sa.Engine) -> None:
    # Short abandons under 2 s: c3 (3 s) becomes a real abandon. Service level at 10 s: c1 (10), c5, c10 only.
    options = MetricOptions(short_abandon_s=2, service_level_s=10)
    with engine.connect() as connection:
        result = totals(connection, DAY, options).as_json()
    assert (result["abandoned"], result["short_abandoned"]) == (2, 0)
    assert result["abandon_rate"] == round(2 / 10, 4)
    assert result["service_level"] == round(3 / 10, 4)


def test_interval_series_by_hour_and_by_local_day(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        hours = interval_series(connection, DAY, 3600)
        # New York is UTC-5 in March before DST: c8 (23:58 UTC) is on the local 2 March, c9 (23:50 UTC on the
        # 1st) on the local 1 March.
        days = interval_series(
            connection, TimeRange(fx.D - timedelta(days=1), fx.D + timedelta(days=1)), 86400, -5 * 3600
        )
    assert [(start.hour, offered, abandoned) for start, offered, abandoned, _ in hours] == [
        (9, 4, 2), (10, 2, 0), (11, 1, 0), (12, 1, 0), (13, 1, 0), (23, 1, 0)
    ]  # fmt: skip
    assert [(start, offered) for start, offered, _, _ in days] == [
        (fx.D - timedelta(days=1) + timedelta(hours=5), 1),
        (fx.D + timedelta(hours=5), 10),
    ]
    assert sum(converted for *_, converted in hours) == 4


def test_bad_ranges_and_options_are_named() -> None:
    with pytest.raises(ValueError, match="to: must be after from"):
        TimeRange(fx.D, fx.D)
    with pytest.raises(ValueError, match="start: must carry a time zone"):
        TimeRange(fx.D.replace(tzinfo=None), fx.D)
    with pytest.raises(ValueError, match="service_level_s"):
        MetricOptions(service_level_s=0)


def test_every_fact_metrics_read_is_in_the_store_schema() -> None:
    from agentdesk.metrics.facts import ALL
    from agentdesk.store.schema import metadata

    for table in ALL:
        stored = metadata.tables[table.name]
        for column in table.columns:
            assert column.name in stored.c, f"{table.name}.{column.name}"
