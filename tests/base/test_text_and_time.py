"""Text and time from outside: what every boundary (backends, call events, CSV, config) leans on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from agentdesk.base.text import MAX_TEXT, clean_text, fold
from agentdesk.base.time import as_utc, parse_timestamp


@given(st.text())
def test_clean_text_is_printable_single_line_and_bounded(raw: str) -> None:
    text = clean_text(raw)
    assert len(text) <= MAX_TEXT
    assert "\n" not in text and "\r" not in text and "\x00" not in text
    assert text == text.strip() and "  " not in text


def test_clean_text_refuses_structures_and_keeps_numbers() -> None:
    assert [clean_text(v) for v in (None, {"a": 1}, [1], b"x", ("a",))] == [""] * 5
    assert clean_text(42) == "42" and clean_text("  Ana\tMaria \n") == "Ana Maria"


@given(st.text())
def test_fold_is_idempotent(raw: str) -> None:
    assert fold(fold(raw)) == fold(raw)


def test_fold_compares_names_as_people_spell_them() -> None:
    assert fold("José ") == fold("jose") == "jose"
    assert fold("Øberg") == "oberg" and fold("Łukasz") == "lukasz" and fold("MÜLLER") == "muller"
    assert fold("𝗔𝗻𝗮") == "ana"  # letters that are cased only once decomposed
    assert fold("Straße") == "strasse"  # casefold, not lower: the German sharp s compares as "ss"


def test_parse_timestamp_reads_iso_with_z_and_offsets() -> None:
    assert parse_timestamp("2026-11-27T09:00:00Z") == datetime(2026, 11, 27, 9, tzinfo=UTC)
    moment = parse_timestamp("2026-11-27T04:00:00-05:00")
    assert moment is not None and as_utc(moment) == datetime(2026, 11, 27, 9, tzinfo=UTC)


def test_parse_timestamp_gives_none_for_what_is_not_a_time() -> None:
    assert [parse_timestamp(v) for v in ("", None, "yesterday", "2026-13-01", {"t": 1}, "\x00")] == [None] * 6


@given(st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))])))
def test_parse_timestamp_round_trips_an_aware_time(moment: datetime) -> None:
    assert parse_timestamp(moment.isoformat()) == moment


def test_as_utc_reads_naive_as_utc_and_keeps_aware() -> None:
    naive = datetime(2026, 1, 2, 3, 4, 5)
    assert as_utc(naive) == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    eastern = datetime(2026, 1, 2, 3, tzinfo=timezone(timedelta(hours=-5)))
    assert as_utc(eastern) is eastern
